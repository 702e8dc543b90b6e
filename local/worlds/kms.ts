// A local KMS world for tests: the KMS emulator behind its HTTP server, the NSM
// emulator under one root, and the identities of the deployment.
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  ROLE_NAMES,
  attestedKeyPolicy,
  keyPolicyJson,
  measure,
  modelKeyPolicy,
  roleArn,
  type Measurement,
} from '../../protocol';
import { NsmClient } from '../../enclave-app/nsm/client';
import { EnclaveKms } from '../../enclave-app/kms/client';
import { AttestedRecipient } from '../../enclave-app/kms/recipient';
import { createRoot, loadOrCreateRoot, pemOf } from '../nsm-emulator/ca';
import { NsmEmulator, type NsmEmulatorOptions } from '../nsm-emulator/emulator';
import { KmsServer, type EmulatorIdentity } from '../kms-emulator/server';

export const ACCOUNT = '111122223333';
export const OTHER_ACCOUNT = '444455556666';
export const REGION = 'eu-west-1';
const ALLOW_ALL = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
const CREATE_KEY = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['kms:CreateKey'], Resource: '*' }] };

function identity(name: string, arn: string, identityPolicies: object[] = []): EmulatorIdentity {
  const id = `AKIA${name.toUpperCase().replace(/[^A-Z0-9]/g, '').padEnd(16, '0')}`;
  return { accessKeyId: id, secretAccessKey: `secret-for-${name}`, principal: { arn, identityPolicies } };
}

export const IDENTITIES = {
  worker: identity('worker', `arn:aws:sts::${ACCOUNT}:assumed-role/${ROLE_NAMES.worker}/i-0123456789abcdef0`),
  publisher: identity('publisher', roleArn(ACCOUNT, REGION, ROLE_NAMES.publisher)),
  deployer: identity('deployer', roleArn(ACCOUNT, REGION, ROLE_NAMES.deployer), [CREATE_KEY]),
  modelOwner: identity('modelowner', roleArn(ACCOUNT, REGION, ROLE_NAMES.modelOwner)),
  root: identity('root', `arn:aws:iam::${ACCOUNT}:root`),
  admin: identity('admin', `arn:aws:iam::${ACCOUNT}:user/admin`, [ALLOW_ALL]),
  otherAccount: identity('other', `arn:aws:iam::${OTHER_ACCOUNT}:role/${ROLE_NAMES.worker}`, [ALLOW_ALL]),
} as const;

export const RELEASED_BUNDLE = { platform: 'emulated-nitro/node-20', files: new Map([['enclave/main.js', new TextEncoder().encode('released enclave')]]) };
export const RELEASED: Measurement = measure(RELEASED_BUNDLE);
export const MODIFIED: Measurement = measure({ ...RELEASED_BUNDLE, files: new Map([['enclave/main.js', new TextEncoder().encode('modified enclave')]]) });

export interface KmsWorld {
  readonly url: string;
  readonly server: KmsServer;
  readonly rootPem: string;
  client(who: keyof typeof IDENTITIES): KMSClient;
  createKey(input: { spec: 'session' | 'model'; policy?: string; bypass?: boolean; multiRegion?: boolean; origin?: 'AWS_KMS' | 'EXTERNAL'; pcr0?: string; creator?: keyof typeof IDENTITIES }): Promise<string>;
  nsm(extra?: Partial<NsmEmulatorOptions>): Promise<NsmEmulator>;
  enclave(nsm: NsmEmulator, who?: keyof typeof IDENTITIES): { kms: EnclaveKms; recipient: AttestedRecipient };
  stop(): Promise<void>;
}

/** `nsmStateDir`: keep the NSM emulator's root on disk there, so another process can use it. */
export async function kmsWorld(options: { nsmStateDir?: string } = {}): Promise<KmsWorld> {
  const rootTime = new Date(Date.now() - 86_400_000);
  const root = options.nsmStateDir ? await loadOrCreateRoot(options.nsmStateDir, rootTime) : await createRoot(rootTime);
  const rootPem = pemOf(root.cert);
  const server = new KmsServer({ account: ACCOUNT, region: REGION, attestationRootPem: rootPem, identities: Object.values(IDENTITIES) });
  const url = await server.start();
  const clients: KMSClient[] = [];
  const enclaves: EnclaveKms[] = [];
  const credentials = (who: keyof typeof IDENTITIES) => ({ accessKeyId: IDENTITIES[who].accessKeyId, secretAccessKey: IDENTITIES[who].secretAccessKey });
  const world: KmsWorld = {
    url,
    server,
    rootPem,
    client(who) {
      const c = new KMSClient({ region: REGION, endpoint: url, credentials: credentials(who), maxAttempts: 1 });
      clients.push(c);
      return c;
    },
    async createKey({ spec, policy, bypass = true, multiRegion = false, origin = 'AWS_KMS', pcr0 = RELEASED.pcr0, creator = 'deployer' }) {
      const params = { pcr0, account: ACCOUNT, region: REGION, roles: ROLE_NAMES };
      const out = await world.client(creator).send(
        new CreateKeyCommand({
          KeySpec: spec === 'session' ? 'ECC_NIST_P256' : 'SYMMETRIC_DEFAULT',
          KeyUsage: spec === 'session' ? 'KEY_AGREEMENT' : 'ENCRYPT_DECRYPT',
          Policy: policy ?? keyPolicyJson(spec === 'session' ? attestedKeyPolicy(params) : modelKeyPolicy(params)),
          BypassPolicyLockoutSafetyCheck: bypass,
          MultiRegion: multiRegion,
          Origin: origin,
        }),
      );
      return out.KeyMetadata!.Arn!;
    },
    nsm(extra = {}) {
      return NsmEmulator.create({ measurement: RELEASED, parentRoleArn: roleArn(ACCOUNT, REGION, ROLE_NAMES.worker), instanceId: 'i-0123456789abcdef0', root, ...extra });
    },
    enclave(nsm, who = 'worker') {
      const recipient = new AttestedRecipient(new NsmClient(nsm));
      const kms = new EnclaveKms({ region: REGION, credentials: credentials(who), recipient, endpointOverride: url });
      enclaves.push(kms);
      return { kms, recipient };
    },
    async stop() {
      for (const c of clients) c.destroy();
      for (const e of enclaves) e.destroy();
      await server.stop();
    },
  };
  return world;
}
