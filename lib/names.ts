// Fixed physical names. Roles have fixed names because frozen key policies name them
// by ARN for the key's life (ROLE_NAMES in protocol/key-policy.ts); the rest are fixed
// so that trust policies, endpoint policies, resource policies and the deployer's
// permissions can name them literally instead of with wildcards.
import { partitionOf, ROLE_NAMES } from '../protocol';

export { ROLE_NAMES };

/** The stacks, one per trust domain, in deployment order (the relay is another party's). */
export const STACK_NAMES = Object.freeze({
  foundation: 'PpFoundation',
  network: 'PpNetwork',
  releaseKeys: 'PpReleaseKeys',
  transparency: 'PpTransparency',
  gateway: 'PpGateway',
  enclaveWorkers: 'PpEnclaveWorkers',
  relay: 'PpRelay',
});

/**
 * The tag every EC2 resource of the NetworkStack (and every worker launch template) carries,
 * valued with its stack's name. The deployer may change or delete only EC2 resources that
 * carry it, and may create them only with it (review 14, finding 2).
 */
export const PROJECT_TAG_KEY = 'pp:stack';
/** The EC2 resource types the NetworkStack creates, all tagged with PROJECT_TAG_KEY. */
export const NETWORK_EC2_RESOURCE_TYPES = ['AWS::EC2::VPC', 'AWS::EC2::Subnet', 'AWS::EC2::RouteTable', 'AWS::EC2::SecurityGroup', 'AWS::EC2::VPCEndpoint', 'AWS::EC2::FlowLog'] as const;

/** The DNS Firewall resources of the NetworkStack that take tags, also tagged with PROJECT_TAG_KEY. */
export const NETWORK_DNS_FIREWALL_RESOURCE_TYPES = ['AWS::Route53Resolver::FirewallDomainList', 'AWS::Route53Resolver::FirewallRuleGroup', 'AWS::Route53Resolver::FirewallRuleGroupAssociation'] as const;

/** The role VPC Flow Logs assumes to write to CloudWatch Logs (not in any key policy). */
export const FLOW_LOGS_ROLE_NAME = 'pp-vpc-flow-logs';
/** The customer-managed policy holding the deployer's permissions. */
export const DEPLOYER_POLICY_NAME = 'pp-deployer-permissions';
/** The customer-managed policy an administrator attaches to whoever runs `cdk deploy --role-arn …pp-deployer` (CI, operators). */
export const DEPLOY_OPERATOR_POLICY_NAME = 'pp-deploy-operator';
/** The Lambda functions of our account; each runs as the role of the same name. */
export const FUNCTION_NAMES = Object.freeze({
  rotation: 'pp-issuer-rotation',
  logWriter: 'pp-log-writer',
  gateway: 'pp-gateway',
  issuer: 'pp-issuer',
});
/** The relay's function and role, in the relay operator's own account. */
export const RELAY_FUNCTION_NAME = 'pp-relay';
export const FLOW_LOG_GROUP_NAME = '/pp/network/vpc-flow-logs';
/** The HTTP API's access log group (allowlisted fields only). */
export const API_ACCESS_LOG_GROUP_NAME = '/pp/gateway/api-access';

export const TABLE_NAMES = Object.freeze({
  /** The gateway's spend store: one item per redeemed token (partition key `id`). */
  spentTokens: 'pp-spent-tokens',
  /** The issuer's daily quota: one counter per account and day (partition key `id`). */
  issuanceCounts: 'pp-issuance-counts',
});

export const SECRET_NAMES = Object.freeze({
  /** The issuer's RSA keys, written by issuer rotation, read by the issuer. */
  issuerKeys: 'pp/issuer-keys',
  /** The transparency log's note signing key, set out of band, read by the log writer only. */
  logSigningKey: 'pp/log-signing-key',
});

/** EventBridge rules that run the scheduled functions. */
export const SCHEDULE_NAMES = Object.freeze({
  logWriter: 'pp-log-writer-hourly',
  rotation: 'pp-issuer-rotation-hourly',
});

/** The CloudTrail trail that sends the account's KMS (and other management) events to the auditor. */
export const AUDIT_TRAIL_NAME = 'pp-key-audit';
export const HTTP_API_NAME = 'pp-api';

/** Globally unique bucket names, fixed per account and region so policies can name them. */
export const bucketNames = (account: string, region: string) =>
  Object.freeze({
    /** The transparency log's tiles, checkpoint and entry bundles (Object Lock). */
    log: `pp-transparency-log-${account}-${region}`,
    /** Release artifacts the workers boot from: EIF, parent proxy, key ARNs, sealed model. */
    releases: `pp-releases-${account}-${region}`,
  });

/** The Auto Scaling group of a live session-key generation's workers. */
export const workerGroupName = (releaseId: string, generation: number) => `pp-workers-${releaseId}-g${generation}`;
/** What the gateway is told when no generation is live: a name no group has (it answers 503). */
export const NO_WORKER_GROUP = 'pp-workers-none';

/** Named exports of our account's stacks: the only cross-stack values, fixed like every other name. */
export const EXPORT_NAMES = Object.freeze({
  isolatedSubnetIds: 'pp-network-isolated-subnet-ids',
  workerSecurityGroupId: 'pp-network-worker-security-group-id',
  gatewaySecurityGroupId: 'pp-network-gateway-security-group-id',
  s3EndpointId: 'pp-network-s3-endpoint-id',
  logSigningKeySecretArn: 'pp-transparency-log-signing-key-secret-arn',
});

/** Where the workers find a release in the release bucket (written by the publisher and the model owner). */
export const RELEASE_OBJECTS = Object.freeze({
  eif: (releaseId: string) => `releases/${releaseId}/enclave.eif`,
  parentProxy: (releaseId: string) => `releases/${releaseId}/parent-proxy.js`,
  /** `{"sessionKeyArn": …, "modelKeyArn": …}`, written after PpReleaseKeys deployed the generation. */
  keyArns: (releaseId: string, generation: number) => `releases/${releaseId}/session-key-g${generation}.json`,
  modelDataKey: (releaseId: string) => `models/${releaseId}/model-data-key.bin`,
  sealedModel: (releaseId: string) => `models/${releaseId}/model.sealed`,
  /** Prefixes each writer may put under. */
  publisherPrefix: 'releases/',
  modelOwnerPrefix: 'models/',
});

export const arn = Object.freeze({
  role: (account: string, region: string, name: string) => `arn:${partitionOf(region)}:iam::${account}:role/${name}`,
  logGroup: (account: string, region: string, name: string) => `arn:${partitionOf(region)}:logs:${region}:${account}:log-group:${name}`,
  bucket: (region: string, name: string) => `arn:${partitionOf(region)}:s3:::${name}`,
  table: (account: string, region: string, name: string) => `arn:${partitionOf(region)}:dynamodb:${region}:${account}:table/${name}`,
  /** Secrets Manager appends `-` and six random characters to a secret's name in its ARN. */
  secret: (account: string, region: string, name: string) => `arn:${partitionOf(region)}:secretsmanager:${region}:${account}:secret:${name}-??????`,
  function: (account: string, region: string, name: string) => `arn:${partitionOf(region)}:lambda:${region}:${account}:function:${name}`,
  /** An HTTP API route of any API of the account (API ids are assigned at creation), default stage. */
  apiRoute: (account: string, region: string, method: string, path: string) => `arn:${partitionOf(region)}:execute-api:${region}:${account}:*/$default/${method}${path}`,
  trail: (account: string, region: string, name: string) => `arn:${partitionOf(region)}:cloudtrail:${region}:${account}:trail/${name}`,
  rule: (account: string, region: string, name: string) => `arn:${partitionOf(region)}:events:${region}:${account}:rule/${name}`,
});
