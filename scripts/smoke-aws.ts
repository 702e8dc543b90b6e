// `npm run smoke:aws -- --account <id> --region <region> --principal <role arn> [--plan] [--keep]`: what only real
// AWS can show, recorded as fixtures the emulators and the docs are then held to. Opt-in,
// never in CI, against a SANDBOX account (it creates KMS keys, which cost money and are
// scheduled for deletion at the end, the minimum 7 days later).
//
// Steps (each records what it saw under test/fixtures/aws-smoke/<date>/):
//   1. who          sts:GetCallerIdentity must be the --account given (refuses otherwise)
//   2. config       a sandbox deployment config: the account, a test release whose PCR0 is
//                   SHA-384 of "smoke test, not an image", the caller as publisher/model owner
//   3. foundation   `cdk deploy PpFoundation` with the caller's credentials (an administrator, once)
//   4. keys         `cdk deploy PpReleaseKeys --role-arn pp-deployer`: CloudFormation's calls on
//                   the frozen keys, as CloudTrail shows them (LookupEvents)
//   5. read         GetKeyPolicy (the exact bytes), DescribeKey, ListGrants, GetPublicKey as the publisher
//   6. refusals     DeriveSharedSecret without an attestation, Decrypt of the model key
//                   without one, PutKeyPolicy and CreateGrant as an administrator, EnableKey:
//                   KMS's error names and messages (the emulator's are marked unverified until then)
//   7. relay        (with the relay stack) a POST through CloudFront with origin access control,
//                   with and without x-amz-content-sha256 — not automated yet
//   8. teardown     schedule the keys' deletion, destroy the stacks (unless --keep)
//
// Without credentials it stops at step 1 and says so; `--plan` prints the steps and exits.

import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateGrantCommand,
  DecryptCommand,
  DeriveSharedSecretCommand,
  DescribeKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GetKeyPolicyCommand,
  GetPublicKeyCommand,
  KMSClient,
  ListGrantsCommand,
  PutKeyPolicyCommand,
} from '@aws-sdk/client-kms';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { CloudFormationClient, DescribeStackEventsCommand, DescribeStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { ROLE_NAMES, encodeReleaseManifest, roleArn, type ReleaseManifest } from '../protocol';

const ROOT = join(__dirname, '..');
type Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

export const SMOKE_STEPS = [
  ['who', 'sts:GetCallerIdentity must be the --account given'],
  ['config', 'write a sandbox deployment config with a test release (PCR0 = SHA-384 of "smoke test, not an image")'],
  ['foundation', 'cdk deploy PpFoundation with the caller’s credentials (an administrator, once)'],
  ['keys', 'cdk deploy PpReleaseKeys --role-arn pp-deployer; record CloudFormation’s KMS calls from CloudTrail'],
  ['read', 'record GetKeyPolicy bytes, DescribeKey, ListGrants and GetPublicKey as the publisher'],
  ['refusals', 'record KMS’s errors: DeriveSharedSecret and model Decrypt without attestation, PutKeyPolicy, CreateGrant, EnableKey'],
  ['relay', 'POST through CloudFront with origin access control, with and without x-amz-content-sha256 (needs the relay stack)'],
  ['teardown', 'schedule the keys’ deletion (7 days) and destroy the stacks, unless --keep'],
] as const;

export const SMOKE_EXIT = { OK: 0, USAGE: 1, NO_CREDENTIALS: 2, WRONG_ACCOUNT: 3 } as const;

function arg(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

export interface SmokeIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

export async function smoke(args: readonly string[], io: SmokeIo): Promise<number> {
  if (args.includes('--plan')) {
    SMOKE_STEPS.forEach(([name, what], i) => io.out(`${i + 1}. ${name.padEnd(10)} ${what}`));
    return SMOKE_EXIT.OK;
  }
  const account = arg(args, 'account');
  const region = arg(args, 'region');
  if (!account || !/^\d{12}$/.test(account) || !region || !/^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(region)) {
    io.err('smoke:aws: usage: npm run smoke:aws -- --account <12-digit sandbox account> --region <region> --principal <role arn> [--plan] [--keep]');
    return SMOKE_EXIT.USAGE;
  }

  // 1. who: credentials from the default chain (environment, profile, SSO, instance role).
  const kms = new KMSClient({ region });
  let credentials;
  try {
    credentials = await kms.config.credentials();
  } catch {
    io.err('smoke:aws: no AWS credentials found (environment, shared config/SSO profile or instance role).');
    io.err(`smoke:aws: it needs an administrator of the SANDBOX account ${account} in ${region}: e.g. \`aws sso login --profile sandbox && AWS_PROFILE=sandbox npm run smoke:aws -- --account ${account} --region ${region}\`.`);
    io.err('smoke:aws: stopped at step 1 (who); nothing was created. `--plan` lists every step.');
    return SMOKE_EXIT.NO_CREDENTIALS;
  } finally {
    kms.destroy();
  }
  const sts = new STSClient({ region, credentials });
  try {
    const who = await sts.send(new GetCallerIdentityCommand({}));
    if (who.Account !== account) {
      io.err(`smoke:aws: these credentials are for account ${who.Account}, not the sandbox ${account}; refusing.`);
      return SMOKE_EXIT.WRONG_ACCOUNT;
    }
    io.out(`1. who: ${who.Arn} in ${account}`);
  } finally {
    sts.destroy();
  }
  const principal = arg(args, 'principal');
  if (!principal || !new RegExp(`^arn:aws[a-z-]*:iam::${account}:role/[\\w+=,.@/-]+$`).test(principal)) {
    io.err('smoke:aws: --principal <the IAM role ARN of these credentials> is needed: the foundation trusts it to assume the publisher and model-owner roles.');
    return SMOKE_EXIT.USAGE;
  }
  await runSteps({ account, region, principal, credentials: credentials as Credentials, keep: args.includes('--keep') }, io);
  return SMOKE_EXIT.OK;
}

interface SmokeRun {
  readonly account: string;
  readonly region: string;
  readonly principal: string;
  readonly credentials: Credentials;
  readonly keep: boolean;
}

const sha384 = (text: string) => createHash('sha384').update(text).digest('hex');

/** Steps 2–8 (untestable without a sandbox account; each writes what it saw before the next starts). */
async function runSteps(run: SmokeRun, io: SmokeIo): Promise<void> {
  const date = new Date().toISOString().slice(0, 10);
  const record = join(ROOT, 'test', 'fixtures', 'aws-smoke', date);
  const work = join(ROOT, '.smoke', date);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(record, { recursive: true });
  const save = (name: string, value: unknown) => writeFileSync(join(record, name), typeof value === 'string' ? value : `${JSON.stringify(value, null, 2)}\n`);

  // 2. config: the committed example, pointed at the sandbox, with a test release.
  cpSync(join(ROOT, 'deploy'), join(work, 'deploy'), { recursive: true });
  const configPath = join(work, 'deploy', 'config.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
  const manifest: ReleaseManifest = {
    version: 1,
    releaseId: `${date.replace(/-/g, '.')}-smoke`,
    kind: 'nitro',
    measurements: { pcr0: sha384('private-processing smoke test PCR0: not an image'), pcr1: sha384('smoke PCR1'), pcr2: sha384('smoke PCR2') },
    imageSha384: sha384('smoke image'),
    modelSha256: createHash('sha256').update('smoke model').digest('hex'),
    sourceCommit: execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim(),
    buildRecipe: 'npm run smoke:aws (a test release: no image has this measurement)',
    createdAt: Math.floor(Date.now() / 1000),
  };
  writeFileSync(join(work, 'deploy', 'releases', 'smoke.json'), encodeReleaseManifest(manifest));
  Object.assign(config, {
    account: run.account,
    region: run.region,
    availabilityZones: [`${run.region}a`, `${run.region}b`],
    trustedPrincipals: { publisher: [run.principal], modelOwner: [run.principal] },
    releases: [{ manifest: 'releases/smoke.json', modelKey: 'live', sessionKeys: [{ generation: 1, notBefore: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), state: 'live' }] }],
  });
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
  rmSync(join(work, 'deploy', 'released-keys.json'), { force: true });
  const tsx = [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs')];
  execFileSync(process.execPath, [...tsx, join(ROOT, 'scripts', 'released-keys.ts'), '--config', configPath, '--write'], { cwd: ROOT, stdio: 'inherit' });
  io.out(`2. config: ${configPath} (release ${manifest.releaseId}, PCR0 ${manifest.measurements.pcr0.slice(0, 16)}…)`);

  // 3–4. deploy: the foundation as the caller, the keys as the deployer.
  const cdk = (stackArgs: string[]) => spawnSync('npx', ['cdk', 'deploy', ...stackArgs, '-c', `deployConfig=${configPath}`, '--require-approval', 'never'], { cwd: ROOT, stdio: 'inherit' });
  const deployerArn = roleArn(run.account, run.region, ROLE_NAMES.deployer);
  if (cdk(['PpFoundation']).status !== 0) throw new Error('deploying PpFoundation failed');
  io.out('3. foundation: deployed');
  const cfn = new CloudFormationClient({ region: run.region, credentials: run.credentials });
  const keysDeployed = cdk(['PpReleaseKeys', '--role-arn', deployerArn]).status === 0;
  const events = await cfn.send(new DescribeStackEventsCommand({ StackName: 'PpReleaseKeys' }));
  save('cloudformation-keys-events.json', (events.StackEvents ?? []).map((e) => ({ logicalId: e.LogicalResourceId, type: e.ResourceType, status: e.ResourceStatus, reason: e.ResourceStatusReason ?? null })));
  if (!keysDeployed) throw new Error('deploying PpReleaseKeys as the deployer failed: see cloudformation-keys-events.json for the action it lacked');
  const resources = await cfn.send(new DescribeStackResourcesCommand({ StackName: 'PpReleaseKeys' }));
  const keys = (resources.StackResources ?? []).filter((r) => r.ResourceType === 'AWS::KMS::Key').map((r) => ({ logicalId: r.LogicalResourceId!, arn: `arn:aws:kms:${run.region}:${run.account}:key/${r.PhysicalResourceId}` }));
  const session = keys.find((k) => k.logicalId.startsWith('SessionKey'))!;
  const model = keys.find((k) => k.logicalId.startsWith('ModelKey'))!;
  io.out(`4. keys: ${keys.map((k) => k.arn).join(', ')}`);

  // 5. read, as the publisher (assumed from the principal the foundation trusts).
  const assume = async (name: string): Promise<KMSClient> => {
    const sts = new STSClient({ region: run.region, credentials: run.credentials });
    const out = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn(run.account, run.region, name), RoleSessionName: 'smoke-aws' }));
    sts.destroy();
    const c = out.Credentials!;
    return new KMSClient({ region: run.region, credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! } });
  };
  const publisher = await assume(ROLE_NAMES.publisher);
  const policy = await publisher.send(new GetKeyPolicyCommand({ KeyId: session.arn, PolicyName: 'default' }));
  save('session-key-policy.txt', policy.Policy ?? '');
  save('session-key-describe.json', (await publisher.send(new DescribeKeyCommand({ KeyId: session.arn }))).KeyMetadata);
  save('session-key-grants.json', (await publisher.send(new ListGrantsCommand({ KeyId: session.arn }))).Grants);
  save('session-key-public-key.der.b64', Buffer.from((await publisher.send(new GetPublicKeyCommand({ KeyId: session.arn }))).PublicKey!).toString('base64'));
  io.out('5. read: GetKeyPolicy bytes, DescribeKey, ListGrants, GetPublicKey recorded');

  // 6. refusals: what KMS answers to each call the policies deny.
  const admin = new KMSClient({ region: run.region, credentials: run.credentials });
  const owner = await assume(ROLE_NAMES.modelOwner);
  const blob = (await owner.send(new EncryptCommand({ KeyId: model.arn, Plaintext: new Uint8Array(32) }))).CiphertextBlob!;
  const spki = Buffer.from((await publisher.send(new GetPublicKeyCommand({ KeyId: session.arn }))).PublicKey!);
  const refusals: Record<string, unknown> = {};
  const attempt = async (name: string, call: () => Promise<unknown>) => {
    try {
      await call();
      refusals[name] = { allowed: true };
    } catch (err) {
      refusals[name] = { error: (err as { name?: string }).name, message: (err as Error).message };
    }
  };
  await attempt('DeriveSharedSecret as the administrator, no attestation', () => admin.send(new DeriveSharedSecretCommand({ KeyId: session.arn, KeyAgreementAlgorithm: 'ECDH', PublicKey: spki })));
  await attempt('DeriveSharedSecret as the publisher, no attestation', () => publisher.send(new DeriveSharedSecretCommand({ KeyId: session.arn, KeyAgreementAlgorithm: 'ECDH', PublicKey: spki })));
  await attempt('Decrypt of the model key as the administrator', () => admin.send(new DecryptCommand({ KeyId: model.arn, CiphertextBlob: blob })));
  await attempt('PutKeyPolicy as the administrator', () => admin.send(new PutKeyPolicyCommand({ KeyId: session.arn, PolicyName: 'default', Policy: policy.Policy! })));
  await attempt('CreateGrant as the administrator', () => admin.send(new CreateGrantCommand({ KeyId: session.arn, GranteePrincipal: run.principal, Operations: ['DeriveSharedSecret'] })));
  await attempt('EnableKey as the administrator', () => admin.send(new EnableKeyCommand({ KeyId: session.arn })));
  save('refusals.json', refusals);
  io.out(`6. refusals: ${Object.entries(refusals).map(([k, v]) => `${k}: ${(v as { error?: string }).error ?? 'ALLOWED (unexpected)'}`).join('; ')}`);

  // 7. relay: needs the relay stack of #15 in the relay account.
  io.out('7. relay: skipped (deploy the RelayStack in its own account and rerun with --relay-url; not automated yet)');

  save('README.md', `# AWS smoke test, ${date}\n\nRecorded by \`npm run smoke:aws\` in a sandbox account (release ${manifest.releaseId}, a test measurement). The KMS emulator's error names and the docs' claims about deployed key policies are held to these files.\n`);
  // 8. teardown.
  if (!run.keep) {
    spawnSync('npx', ['cdk', 'destroy', 'PpReleaseKeys', '-c', `deployConfig=${configPath}`, '--force', '--role-arn', deployerArn], { cwd: ROOT, stdio: 'inherit' });
    io.out('8. teardown: PpReleaseKeys destroyed (its keys are scheduled for deletion). PpFoundation is retained by design (termination protection, RETAIN): remove it by hand when done with the sandbox.');
  } else io.out('8. teardown: --keep, nothing destroyed');
  for (const c of [admin, publisher, owner]) c.destroy();
  cfn.destroy();
  io.out(`recorded in ${record}`);
}

if (require.main === module) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  void smoke(process.argv.slice(2), { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) }).then((code) => process.exit(code));
}
