// Evaluates the session-key and model-key policies with @cloud-copilot/iam-simulate
// for every principal that matters and every KMS action that matters, and renders
// the result as the markdown table in docs/key-policies.md (a test keeps the two
// equal). Run: npx tsx scripts/key-policy-matrix.ts
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { attestedKeyPolicy, IMAGE_SHA384_KEY, modelKeyPolicy, ROLE_NAMES, roleArn, type KeyPolicy } from '../protocol';

export const ACCOUNT = '111122223333';
export const OTHER_ACCOUNT = '444455556666';
export const REGION = 'eu-west-1';
export const RELEASED_PCR0 = 'a1'.repeat(48);
export const OTHER_PCR0 = 'b2'.repeat(48);
const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const ADMIN_POLICY = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };

export interface Caller {
  readonly label: string;
  readonly principal: string;
  readonly measurement?: string;
  readonly identityPolicy?: object;
}

const arn = (name: string, account = ACCOUNT) => roleArn(account, REGION, name);

export const CALLERS: readonly Caller[] = [
  { label: 'worker, released measurement', principal: arn(ROLE_NAMES.worker), measurement: RELEASED_PCR0 },
  { label: 'worker session (assumed role), released measurement', principal: `arn:aws:sts::${ACCOUNT}:assumed-role/${ROLE_NAMES.worker}/i-0123456789abcdef0`, measurement: RELEASED_PCR0 },
  { label: 'worker, other measurement', principal: arn(ROLE_NAMES.worker), measurement: OTHER_PCR0 },
  { label: 'worker, no attestation', principal: arn(ROLE_NAMES.worker) },
  { label: 'publisher', principal: arn(ROLE_NAMES.publisher) },
  { label: 'model owner', principal: arn(ROLE_NAMES.modelOwner) },
  { label: 'deployer', principal: arn(ROLE_NAMES.deployer) },
  { label: 'account root', principal: `arn:aws:iam::${ACCOUNT}:root` },
  { label: 'IAM administrator (Allow *)', principal: `arn:aws:iam::${ACCOUNT}:user/admin`, identityPolicy: ADMIN_POLICY },
  { label: 'gateway role (Allow kms:*)', principal: arn('pp-gateway'), identityPolicy: ADMIN_POLICY },
  { label: 'worker-named role, other account, released measurement', principal: arn(ROLE_NAMES.worker, OTHER_ACCOUNT), measurement: RELEASED_PCR0, identityPolicy: ADMIN_POLICY },
];

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
  'kms:PutKeyPolicy',
  'kms:CreateGrant',
  'kms:ReplicateKey',
  'kms:UpdatePrimaryRegion',
  'kms:ImportKeyMaterial',
  'kms:CancelKeyDeletion',
  'kms:EnableKey',
] as const;

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

export async function evaluate(policy: KeyPolicy, caller: Caller, action: string): Promise<Decision> {
  const result = (await runSimulation(
    {
      request: {
        principal: caller.principal,
        action,
        resource: { resource: KEY_ARN, accountId: ACCOUNT },
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

export type Matrix = Record<keyof typeof POLICIES, Record<string, Record<string, Decision>>>;

export async function computeMatrix(): Promise<Matrix> {
  const matrix = {} as Matrix;
  for (const [name, policy] of Object.entries(POLICIES) as [keyof typeof POLICIES, KeyPolicy][]) {
    matrix[name] = {};
    for (const caller of CALLERS) {
      matrix[name][caller.label] = {};
      for (const action of ACTIONS) matrix[name][caller.label]![action] = await evaluate(policy, caller, action);
    }
  }
  return matrix;
}

const SYMBOL: Record<Decision, string> = { Allowed: '**allow**', ExplicitlyDenied: 'deny', ImplicitlyDenied: '·' };

export function renderMatrix(matrix: Matrix): string {
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
