// `npm run smoke:aws -- --account <id> --region <region> [--plan] [--keep]`: what only real
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
//                   with and without x-amz-content-sha256
//   8. teardown     schedule the keys' deletion, destroy the stacks (unless --keep)
//
// Without credentials it stops at step 1 and says so; `--plan` prints the steps and exits.

import { KMSClient } from '@aws-sdk/client-kms';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';

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
    io.err('smoke:aws: usage: npm run smoke:aws -- --account <12-digit sandbox account> --region <region> [--plan] [--keep]');
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
  // Steps 2–8 run only against a real sandbox account; they are not written yet (docs/STATUS.md).
  io.err('smoke:aws: steps 2–8 are not implemented yet; nothing was created.');
  return SMOKE_EXIT.USAGE;
}

if (require.main === module) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  void smoke(process.argv.slice(2), { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) }).then((code) => process.exit(code));
}
