// Evaluates the session-key and model-key policies with @cloud-copilot/iam-simulate
// for every principal that matters and every KMS action that matters, and renders
// the result as the markdown table in docs/key-policies.md (a test keeps the two
// equal). Run: npx tsx scripts/key-policy-matrix.ts
// scripts/cdk-key-policy-matrix.ts evaluates the policies of the synthesized CDK keys
// with the same callers and actions.
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { attestedKeyPolicy, FROZEN_ACTIONS, IMAGE_SHA384_KEY, modelKeyPolicy, partitionOf, ROLE_NAMES, roleArn, type KeyPolicy } from '../protocol';

export const ACCOUNT = '111122223333';
export const OTHER_ACCOUNT = '444455556666';
export const REGION = 'eu-west-1';
export const RELEASED_PCR0 = 'a1'.repeat(48);
export const OTHER_PCR0 = 'b2'.repeat(48);
/** An ARN for a key of `account` in `region` (the simulation needs one; its id does not matter). */
export function keyArnFor(account: string, region: string): string {
  return `arn:${partitionOf(region)}:kms:${region}:${account}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
}
const KEY_ARN = keyArnFor(ACCOUNT, REGION);
const ADMIN_POLICY = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };

export interface Caller {
  readonly label: string;
  readonly principal: string;
  readonly measurement?: string;
  readonly identityPolicy?: object;
}

export interface CallerContext {
  readonly account: string;
  readonly region: string;
  /** The PCR0 the key's policy releases to. */
  readonly releasedPcr0: string;
  readonly otherPcr0: string;
  readonly otherAccount: string;
}

/** Everyone who matters, for a key of `account` in `region` released to `releasedPcr0`. */
export function callersFor(c: CallerContext): Caller[] {
  const partition = partitionOf(c.region);
  const arn = (name: string, account = c.account) => roleArn(account, c.region, name);
  return [
    { label: 'worker, released measurement', principal: arn(ROLE_NAMES.worker), measurement: c.releasedPcr0 },
    { label: 'worker session (assumed role), released measurement', principal: `arn:${partition}:sts::${c.account}:assumed-role/${ROLE_NAMES.worker}/i-0123456789abcdef0`, measurement: c.releasedPcr0 },
    { label: 'worker, other measurement', principal: arn(ROLE_NAMES.worker), measurement: c.otherPcr0 },
    { label: 'worker, no attestation', principal: arn(ROLE_NAMES.worker) },
    { label: 'publisher', principal: arn(ROLE_NAMES.publisher) },
    { label: 'model owner', principal: arn(ROLE_NAMES.modelOwner) },
    { label: 'deployer', principal: arn(ROLE_NAMES.deployer) },
    { label: 'issuer rotation (Lambda)', principal: arn(ROLE_NAMES.rotation) },
    { label: 'log writer (Lambda)', principal: arn(ROLE_NAMES.logWriter) },
    { label: 'account root', principal: `arn:${partition}:iam::${c.account}:root` },
    { label: 'IAM administrator (Allow *)', principal: `arn:${partition}:iam::${c.account}:user/admin`, identityPolicy: ADMIN_POLICY },
    { label: 'gateway role (Allow kms:*)', principal: arn(ROLE_NAMES.gateway), identityPolicy: ADMIN_POLICY },
    { label: 'worker-named role, other account, released measurement', principal: arn(ROLE_NAMES.worker, c.otherAccount), measurement: c.releasedPcr0, identityPolicy: ADMIN_POLICY },
  ];
}

export const CALLERS: readonly Caller[] = callersFor({ account: ACCOUNT, region: REGION, releasedPcr0: RELEASED_PCR0, otherPcr0: OTHER_PCR0, otherAccount: OTHER_ACCOUNT });

export const ACTIONS = [
  'kms:DeriveSharedSecret',
  'kms:Decrypt',
  'kms:Encrypt',
  'kms:GenerateDataKey',
  'kms:ReEncryptFrom',
  'kms:GetPublicKey',
  'kms:DescribeKey',
  'kms:GetKeyPolicy',
  'kms:ListGrants',
  'kms:GetKeyRotationStatus',
  'kms:ListResourceTags',
  'kms:DisableKey',
  'kms:ScheduleKeyDeletion',
  'kms:TagResource',
  ...FROZEN_ACTIONS,
] as const;

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

export async function evaluate(policy: KeyPolicy, caller: Caller, action: string, keyArn: string = KEY_ARN): Promise<Decision> {
  const result = (await runSimulation(
    {
      request: {
        principal: caller.principal,
        action,
        resource: { resource: keyArn, accountId: keyArn.split(':')[4]! },
        contextVariables: caller.measurement ? { [IMAGE_SHA384_KEY]: caller.measurement } : {},
      },
      identityPolicies: caller.identityPolicy ? [{ name: 'identity', policy: caller.identityPolicy }] : [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: policy,
    },
    { simulationMode: 'Strict' },
  )) as { resultType: string; overallResult?: Decision; errors?: unknown };
  if (result.resultType === 'error' || !result.overallResult) throw new Error(`simulation failed for ${action}: ${JSON.stringify(result.errors)}`);
  return result.overallResult;
}

export const POLICIES = {
  'session key': attestedKeyPolicy({ pcr0: RELEASED_PCR0, account: ACCOUNT, region: REGION, roles: ROLE_NAMES }),
  'model key': modelKeyPolicy({ pcr0: RELEASED_PCR0, account: ACCOUNT, region: REGION, roles: ROLE_NAMES }),
} as const;

export type Matrix<K extends string = keyof typeof POLICIES> = Record<K, Record<string, Record<string, Decision>>>;

/** Each policy × each caller × each action. Defaults: the two template policies of docs/key-policies.md. */
export async function computeMatrix(): Promise<Matrix>;
export async function computeMatrix<K extends string>(policies: Record<K, KeyPolicy>, callers: readonly Caller[], keyArn: string): Promise<Matrix<K>>;
export async function computeMatrix(policies: Record<string, KeyPolicy> = POLICIES, callers: readonly Caller[] = CALLERS, keyArn: string = KEY_ARN): Promise<Matrix<string>> {
  const matrix: Matrix<string> = {};
  for (const [name, policy] of Object.entries(policies)) {
    const rows: Record<string, Record<string, Decision>> = {};
    for (const caller of callers) {
      rows[caller.label] = {};
      for (const action of ACTIONS) rows[caller.label]![action] = await evaluate(policy, caller, action, keyArn);
    }
    matrix[name] = rows;
  }
  return matrix;
}

const SYMBOL: Record<Decision, string> = { Allowed: '**allow**', ExplicitlyDenied: 'deny', ImplicitlyDenied: '·' };

export function renderMatrix(matrix: Matrix<string>): string {
  const out: string[] = [];
  for (const [name, rows] of Object.entries(matrix)) {
    out.push(`### ${name}`, '', `| caller | ${ACTIONS.map((a) => a.replace('kms:', '')).join(' | ')} |`, `| --- |${ACTIONS.map(() => ' --- |').join('')}`);
    for (const [caller, decisions] of Object.entries(rows)) {
      out.push(`| ${caller} | ${ACTIONS.map((a) => SYMBOL[decisions[a]!]).join(' | ')} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

if (require.main === module) {
  computeMatrix().then((m) => process.stdout.write(renderMatrix(m)));
}
