// The frozen-key constructs refuse every way to make a key differ from its policy
// function's output, each with its own error code; the post-synthesis check catches
// what gets past them in the template itself.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, RemovalPolicy, Stack, Tags } from 'aws-cdk-lib';
import { CfnKey } from 'aws-cdk-lib/aws-kms';
import { buildApp, verifyAssembly } from '../../../bin/build-app';
import { InfrastructureError } from '../../../lib/errors';
import { AttestedSessionKey } from '../../../lib/keys/attested-session-key';
import { logicalIdPart } from '../../../lib/keys/frozen-key';
import { ModelKey } from '../../../lib/keys/model-key';
import { verifySynthesizedKeys } from '../../../lib/keys/verify';
import { EXAMPLE_MANIFEST, NO_BUNDLING, synthesize } from '../../helpers/cdk';
import { expectCode } from '../../helpers/fixtures';

const PCR0 = EXAMPLE_MANIFEST.measurements.pcr0;

function exampleApp() {
  const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'pp-cdk-test-')), context: { ...NO_BUNDLING } });
  return { app, built: buildApp(app, { nag: false }) };
}

describe('the constructs refuse changes at synthesis', () => {
  test('a tag on a key: KEY_TAGGED', async () => {
    const { app, built } = exampleApp();
    Tags.of(built.releaseKeys.keys[0]!).add('team', 'x');
    await expectCode(() => app.synth(), InfrastructureError, 'KEY_TAGGED');
  });

  test('a tag on the keys stack (CloudFormation would copy it onto every key): KEY_TAGGED', async () => {
    const { app, built } = exampleApp();
    Tags.of(built.releaseKeys).add('cost-centre', '42');
    await expectCode(() => app.synth(), InfrastructureError, 'KEY_TAGGED');
  });

  test('a tag on the whole app: KEY_TAGGED', async () => {
    const { app } = exampleApp();
    Tags.of(app).add('owner', 'someone');
    await expectCode(() => app.synth(), InfrastructureError, 'KEY_TAGGED');
  });

  test('a raw override of the policy (an escape hatch): KEY_ALTERED', async () => {
    const { app, built } = exampleApp();
    built.releaseKeys.keys[0]!.resource.addPropertyOverride('KeyPolicy.Statement.0.Principal.AWS', '*');
    await expectCode(() => app.synth(), InfrastructureError, 'KEY_ALTERED');
  });

  test('a policy replaced after construction: KEY_ALTERED', async () => {
    const { app, built } = exampleApp();
    const key = built.releaseKeys.keys[1]!.resource;
    key.keyPolicy = { ...(key.keyPolicy as object), Statement: [] };
    await expectCode(() => app.synth(), InfrastructureError, 'KEY_ALTERED');
  });

  test('a property changed after construction (rotation, multi-region, origin): KEY_ALTERED', async () => {
    for (const change of [
      (k: CfnKey) => (k.enableKeyRotation = true),
      (k: CfnKey) => (k.multiRegion = true),
      (k: CfnKey) => (k.origin = 'EXTERNAL'),
      (k: CfnKey) => (k.bypassPolicyLockoutSafetyCheck = false),
    ]) {
      const { app, built } = exampleApp();
      change(built.releaseKeys.keys[0]!.resource);
      await expectCode(() => app.synth(), InfrastructureError, 'KEY_ALTERED');
    }
  });

  test('a retained key (retiring would no longer schedule deletion): KEY_ALTERED', async () => {
    const { app, built } = exampleApp();
    built.releaseKeys.keys[0]!.resource.applyRemovalPolicy(RemovalPolicy.RETAIN);
    await expectCode(() => app.synth(), InfrastructureError, 'KEY_ALTERED');
  });

  test('no API adds a statement: the constructs have no grant or addToResourcePolicy, the L1 has no policy API', () => {
    for (const cls of [AttestedSessionKey, ModelKey, CfnKey]) {
      for (const name of ['grant', 'grantDecrypt', 'grantEncrypt', 'grantEncryptDecrypt', 'grantAdmin', 'addToResourcePolicy', 'addAlias']) {
        expect([cls.name, name, typeof (cls.prototype as unknown as Record<string, unknown>)[name]]).toEqual([cls.name, name, 'undefined']);
      }
    }
  });

  test('a stack without an explicit account and region: CONFIG_INVALID', async () => {
    const stack = new Stack(new App(), 'Agnostic');
    await expectCode(() => new AttestedSessionKey(stack, 'K', { releaseId: 'r1', pcr0: PCR0, generation: 1, pendingWindowDays: 7 }), InfrastructureError, 'CONFIG_INVALID');
  });

  test('a pending window outside KMS\'s 7 to 30 days: CONFIG_INVALID', async () => {
    const stack = new Stack(new App(), 'S', { env: { account: '111122223333', region: 'eu-west-1' } });
    await expectCode(() => new ModelKey(stack, 'K', { releaseId: 'r1', pcr0: PCR0, pendingWindowDays: 6 }), InfrastructureError, 'CONFIG_INVALID');
    await expectCode(() => new ModelKey(stack, 'L', { releaseId: 'r1', pcr0: PCR0, pendingWindowDays: 31 }), InfrastructureError, 'CONFIG_INVALID');
  });

  test('logical ids: distinct release ids never share a logical id', () => {
    const ids = ['1.2-3', '12-3', '1-2.3', '1.2.3', '1-2-3', 'a.b', 'a-b', 'ab'].map(logicalIdPart);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9]+$/);
  });
});

describe('the post-synthesis check reads the template CloudFormation gets', () => {
  const base = () => synthesize();

  test('the example deployment passes', () => {
    const s = base();
    expect(() => verifyAssembly(s.assembly, s.built)).not.toThrow();
  });

  test('a key edited in the template: KEY_ALTERED', async () => {
    const s = base();
    const template = structuredClone(s.json.releaseKeys);
    template.Resources.SessionKeyexampleH2026D11D27H1G1.Properties.KeyPolicy.Statement[0].Condition.StringEqualsIgnoreCase['kms:RecipientAttestation:ImageSha384'] = '*';
    await expectCode(() => verifySynthesizedKeys(template, s.built.releaseKeys.keyDescriptions), InfrastructureError, 'KEY_ALTERED');
  });

  test('an intrinsic in place of a literal ARN: KEY_ALTERED', async () => {
    const s = base();
    const template = structuredClone(s.json.releaseKeys);
    template.Resources.ModelKeyexampleH2026D11D27H1.Properties.KeyPolicy.Statement[0].Principal.AWS = { 'Fn::Join': ['', ['arn:aws:iam::', { Ref: 'AWS::AccountId' }, ':role/pp-enclave-worker']] };
    await expectCode(() => verifySynthesizedKeys(template, s.built.releaseKeys.keyDescriptions), InfrastructureError, 'KEY_ALTERED');
  });

  test('a key with a Condition or DependsOn attribute: KEY_ALTERED', async () => {
    const s = base();
    for (const attribute of [{ Condition: 'Never' }, { DependsOn: ['X'] }]) {
      const template = structuredClone(s.json.releaseKeys);
      Object.assign(template.Resources.ModelKeyexampleH2026D11D27H1, attribute);
      await expectCode(() => verifySynthesizedKeys(template, s.built.releaseKeys.keyDescriptions), InfrastructureError, 'KEY_ALTERED');
    }
  });

  test('another KMS key or a replica key in the template: KEY_ALTERED', async () => {
    const s = base();
    for (const type of ['AWS::KMS::Key', 'AWS::KMS::ReplicaKey']) {
      const template = structuredClone(s.json.releaseKeys);
      template.Resources.Extra = { Type: type, Properties: {} };
      await expectCode(() => verifySynthesizedKeys(template, s.built.releaseKeys.keyDescriptions), InfrastructureError, 'KEY_ALTERED');
    }
  });

  test('a key missing from the template: KEY_ALTERED', async () => {
    const s = base();
    const template = structuredClone(s.json.releaseKeys);
    delete template.Resources.ModelKeyexampleH2026D11D27H1;
    await expectCode(() => verifySynthesizedKeys(template, s.built.releaseKeys.keyDescriptions), InfrastructureError, 'KEY_ALTERED');
  });
});
