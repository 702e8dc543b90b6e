// The production entry's boot: release id and model hash compiled in, the deployment's
// parameters from the parent's `boot` frame; and what the production bundle contains.
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { AWS_NITRO_ROOT_G1_PEM, measure } from '../../protocol';
import { ParentProxy } from '../../enclave-app/parent/proxy';
import { bootConfigFrom, startEnclave } from '../../enclave-app/start';
import { LOCAL_ENDPOINT_MARKER } from '../../enclave-app/kms/local-endpoint';
import { enclaveWorld, exchange, MEASUREMENT, SAMPLE_CHAT, type EnclaveWorld } from '../helpers/enclave';
import { IDENTITIES, REGION } from '../helpers/kms';

jest.setTimeout(60_000);
let world: EnclaveWorld;
beforeAll(async () => {
  world = await enclaveWorld();
});
afterAll(async () => {
  await world.stop();
});

async function start(bootConfig?: ConstructorParameters<typeof ParentProxy>[0]['bootConfig'], modelSha256 = world.config.modelSha256) {
  const enclave = await startEnclave({
    nsm: await world.kms.nsm({ measurement: MEASUREMENT }),
    region: REGION,
    kmsEndpointOverride: world.kms.url,
    listen: { host: '127.0.0.1', port: 0 },
    deadlines: 'off',
    config: { fromParent: { releaseId: world.config.releaseId, modelSha256 } },
  });
  const parent = new ParentProxy({
    enclave: enclave.address,
    credentials: async () => ({ accessKeyId: IDENTITIES.worker.accessKeyId, secretAccessKey: IDENTITIES.worker.secretAccessKey }),
    ...(bootConfig ? { bootConfig } : {}),
  });
  const parentUrl = await parent.start();
  return { enclave, parent, parentUrl, logs: [] as string[], stop: async () => (await parent.stop(), await enclave.close()) };
}

const BOOT = () => ({ sessionKeyArn: world.config.sessionKeyArn, modelKeyArn: world.config.modelKeyArn, encryptedModelDataKey: world.config.encryptedModelDataKey, sealedModel: world.config.sealedModel });

test('an enclave with only its compiled-in release boots from the parent boot frame and serves', async () => {
  const stack = await start(BOOT());
  try {
    await fetch(`${stack.parentUrl}/healthz`);
    await stack.enclave.booted;
    const r = await exchange(stack as never, world.keyConfig, { body: { v: 1, chat: SAMPLE_CHAT } });
    expect(r.status).toBe(200);
    const health = (await (await fetch(`${stack.parentUrl}/healthz`)).json()) as { releaseId: string };
    expect(health.releaseId).toBe(world.config.releaseId);
  } finally {
    await stack.stop();
  }
});

test('without a boot frame it never serves', async () => {
  const stack = await start();
  try {
    await fetch(`${stack.parentUrl}/healthz`);
    await new Promise((r) => setTimeout(r, 300));
    const health = await fetch(`${stack.parentUrl}/healthz`);
    expect(health.status).toBe(503);
  } finally {
    await stack.stop();
  }
});

test('a parent cannot change the compiled-in model: a model that does not hash to it stops the boot', async () => {
  const stack = await start(BOOT(), 'ab'.repeat(32));
  try {
    await fetch(`${stack.parentUrl}/healthz`);
    await expect(stack.enclave.booted).rejects.toBeDefined();
  } finally {
    await stack.stop();
  }
});

test('boot frames: malformed ones are ignored, and release id and model hash come only from the build', () => {
  const release = { releaseId: 'compiled-release', modelSha256: 'cd'.repeat(32) };
  const good = new Map<string, unknown>(Object.entries({ ...BOOT(), releaseId: 'parent-says', modelSha256: 'ef'.repeat(32) }));
  expect(bootConfigFrom(good, release)).toMatchObject({ releaseId: 'compiled-release', modelSha256: 'cd'.repeat(32), sessionKeyArn: world.config.sessionKeyArn });
  for (const [field, value] of [['sessionKeyArn', 'arn:aws:kms:eu-west-1:111122223333:alias/x'], ['modelKeyArn', 7], ['sealedModel', 'text'], ['encryptedModelDataKey', undefined]] as const) {
    const bad = new Map(good);
    bad.set(field, value);
    expect(bootConfigFrom(bad, release)).toBeUndefined();
  }
});

describe('the production bundle of the enclave entry', () => {
  const ROOT = join(__dirname, '..', '..');
  function bundle(defines: Record<string, string>): string {
    const out = buildSync({
      entryPoints: [join(ROOT, 'enclave-app', 'main.ts')],
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      write: false,
      packages: 'external',
      minifySyntax: true,
      absWorkingDir: ROOT,
      define: {
        __PP_BUILD__: '"production"',
        __PP_RELEASE_ID__: JSON.stringify(defines.release ?? '2026.11.27-1'),
        __PP_MODEL_SHA256__: JSON.stringify(defines.model ?? 'ab'.repeat(32)),
        __PP_REGION__: JSON.stringify(defines.region ?? 'eu-west-1'),
      },
      logLevel: 'silent',
    });
    return out.outputFiles[0]!.text;
  }
  const pcr0 = (text: string) => measure({ platform: 'emulated-nitro/node-20', files: new Map([['enclave/main.js', new TextEncoder().encode(text)]]) }).pcr0;

  test('has no KMS endpoint override, no TCP listener and no emulator', () => {
    const text = bundle({});
    expect(text).not.toContain(LOCAL_ENDPOINT_MARKER);
    expect(text).not.toContain('127.0.0.1');
    expect(text).not.toMatch(/listen\(address\.port, address\.host/);
    expect(text).not.toMatch(/NsmEmulator|nsm-emulator|kms-emulator|createRoot|loadOrCreateRoot/);
    // The only certificate inside is the AWS Nitro root the protocol module pins; no emulator root.
    const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
    expect(pems.map((p) => p.replace(/\s/g, ''))).toEqual([AWS_NITRO_ROOT_G1_PEM.trim().replace(/\s/g, '')]);
    expect(text).toContain('a production build listens on the vsock bridge socket only');
    expect(text).toContain('/run/pp/enclave.sock');
  });

  test('the model hash, release id and region are compiled in: changing one changes PCR0', () => {
    const base = pcr0(bundle({}));
    expect(pcr0(bundle({}))).toBe(base);
    expect(pcr0(bundle({ model: 'cd'.repeat(32) }))).not.toBe(base);
    expect(pcr0(bundle({ release: '2026.11.27-2' }))).not.toBe(base);
    expect(pcr0(bundle({ region: 'us-east-1' }))).not.toBe(base);
    expect(bundle({})).toContain('ab'.repeat(32));
  });
});
