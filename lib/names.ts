// Fixed physical names. Roles have fixed names because frozen key policies name them
// by ARN for the key's life (ROLE_NAMES in protocol/key-policy.ts); the rest are fixed
// so that trust policies, endpoint policies and the deployer's permissions can name
// them literally instead of with wildcards.
import { partitionOf, ROLE_NAMES } from '../protocol';

export { ROLE_NAMES };

/** The stacks, one per trust domain, in deployment order. */
export const STACK_NAMES = Object.freeze({
  foundation: 'PpFoundation',
  network: 'PpNetwork',
  releaseKeys: 'PpReleaseKeys',
});

/** The role VPC Flow Logs assumes to write to CloudWatch Logs (not in any key policy). */
export const FLOW_LOGS_ROLE_NAME = 'pp-vpc-flow-logs';
/** The customer-managed policy holding the deployer's permissions. */
export const DEPLOYER_POLICY_NAME = 'pp-deployer-permissions';
/** The Lambda functions (#15) whose execution roles the FoundationStack creates. */
export const FUNCTION_NAMES = Object.freeze({ rotation: 'pp-issuer-rotation', logWriter: 'pp-log-writer' });
export const FLOW_LOG_GROUP_NAME = '/pp/network/vpc-flow-logs';

export const arn = Object.freeze({
  role: (account: string, region: string, name: string) => `arn:${partitionOf(region)}:iam::${account}:role/${name}`,
  logGroup: (account: string, region: string, name: string) => `arn:${partitionOf(region)}:logs:${region}:${account}:log-group:${name}`,
});
