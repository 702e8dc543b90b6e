// `npm start`: the whole local stack on loopback (KMS and NSM emulators, the enclave,
// its parent proxy, gateway, relay, issuer, a log writer and two witnesses), then a
// scripted session through the client SDK, a tamper demonstration, and what each party
// saw. Exits 0 only if every step behaved as it must.

import { createHash, generateKeyPairSync } from 'node:crypto';
import {
  decodeKeyBundle,
  encodeKeyBundle,
  encodeUserData,
  generateKeyPair,
  KEM_P256_HKDF_SHA256,
  measure,
  sessionKeyConfigBytes,
  toHex,
  type LogEntry,
} from '../protocol';
import { ChatPrivate, ClientError, PrivateProcessingClient, TamperAlert, type ChatInput } from '../client';
import { KmsClientError } from '../enclave-app/kms/errors';
import { localEnclaveBundle } from './enclave-measure';
import { SAMPLE_CHAT } from './worlds/enclave';
import { clientConfig, privatePathWorld, waitForTokens, type PrivatePath } from './worlds/private-path';
import { accountToken } from './worlds/privacy-pass';
import { ACCOUNT, IDENTITIES, REGION } from './worlds/kms';
import type { LocalOperatorFile } from '../scripts/release';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const out = (line = '') => process.stdout.write(`${line}\n`);
const section = (title: string) => out(`\n== ${title}`);
const hex = (b: Uint8Array, n = 16) => `${toHex(b).slice(0, n)}…`;

/** A transport that rewrites the key bundle, as a malicious gateway or relay could. */
function rewritingFetch(rewrite: (bundle: ReturnType<typeof decodeKeyBundle>) => Promise<Uint8Array> | Uint8Array): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const res = await fetch(input, init);
    if (!String(input).endsWith('/v1/keys') || res.status !== 200) return res;
    return new Response(await rewrite(decodeKeyBundle(new Uint8Array(await res.arrayBuffer()))), { status: 200 });
  }) as typeof fetch;
}

async function expectTamper(path: PrivatePath, name: string, fetchImpl: typeof fetch, chat: ChatInput): Promise<void> {
  const client = new PrivateProcessingClient(clientConfig(path, { fetch: fetchImpl, wallet: { batchSize: 1, intervalMs: 3_600_000, jitterMs: 10, capacity: 1 } }));
  let emitted = 0;
  client.on('tamper', () => emitted++);
  client.optIn();
  await waitForTokens(client, 1);
  const before = path.recorded.filter((r) => r.component === 'relay' && r.request.path === '/v1/ohttp').length;
  const err = await client.summarize(chat).catch((e: unknown) => e);
  client.optOut();
  const sent = path.recorded.filter((r) => r.component === 'relay' && r.request.path === '/v1/ohttp').length - before;
  if (!(err instanceof TamperAlert) || emitted !== 1 || sent !== 0) {
    throw new Error(`${name}: expected a TamperAlert and nothing sent, got ${err instanceof Error ? `${err.name} ${(err as { code?: string }).code ?? err.message}` : 'success'} (alerts ${emitted}, sent ${sent})`);
  }
  out(`  ${name}: TamperAlert at step "${err.step}", code ${err.code}; requests sent: 0`);
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  out('Private Processing: local stack (everything on 127.0.0.1, emulated Nitro attestation and KMS)');
  const started = performance.now();
  const path = await privatePathWorld({ enclave: 'process' });
  try {
    const live = path.entries;
    const release = live.find((e) => e.type === 'release') as LogEntry & { type: 'release' };
    const sessionKey = live.find((e) => e.type === 'session_key') as LogEntry & { type: 'session_key' };
    const issuerKey = live.find((e) => e.type === 'issuer_key') as LogEntry & { type: 'issuer_key' };
    out(`ready in ${((performance.now() - started) / 1000).toFixed(1)} s: relay ${path.relayUrl}, gateway ${path.gatewayUrl}, issuer ${path.issuerUrl}, log ${path.logUrl}`);
    const worker = path.workers[0] as { child?: { pid?: number } };
    out(`  enclave: its own process (pid ${worker.child?.pid ?? '?'}), booted: PCR0 checked, session and model keys checked with KMS, model decrypted and hashed`);
    out('  parent proxy → enclave over TCP on loopback (vsock on Nitro); KMS and NSM are emulators');

    section('The log (written by the log writer, cosigned by two witnesses)');
    out(`  checkpoint: ${path.log.checkpoint.split('\n').slice(0, 2).join(', size ')}`);
    out(`  release ${release.releaseId} (${release.kind}): PCR0 ${toHex(release.pcr0).slice(0, 24)}…, published by the release pipeline's publish step through the log writer, as the publisher role`);
    out(`  session key ${sessionKey.kmsKeyArn} with its exact key policy (${sessionKey.keyPolicy.length} bytes)`);
    out(`  issuer key ${hex(issuerKey.tokenKeyId)}`);
    out('  publication delay: 0 in this local configuration (72 hours in production)');

    section('A user opts in');
    const client = new PrivateProcessingClient(clientConfig(path, { wallet: { batchSize: 4, intervalMs: 3_600_000, jitterMs: 50, capacity: 8 } }));
    client.on('tamper', (a) => out(`  TAMPER ALERT ${a.step} ${a.code}`));
    const beforeOptIn = path.recorded.length;
    const notYet = await client.summarize({ id: 'picnic', ...SAMPLE_CHAT }).catch((e: unknown) => e);
    if (!(notYet instanceof ClientError) || notYet.code !== 'NOT_OPTED_IN' || path.recorded.length !== beforeOptIn) throw new Error('the SDK acted before opt-in');
    out(`  before opt-in: summarize refused (${notYet.code}), 0 network calls`);
    client.optIn();
    await waitForTokens(client, 4);
    out(`  tokens: 4 fetched under issuer key ${hex(issuerKey.tokenKeyId)} (blind RSA: the issuer saw account "alice", not the tokens)`);

    section('Summarise a group chat');
    const chat: ChatInput = { id: 'picnic', ...SAMPLE_CHAT };
    const summary = await client.summarize(chat);
    out('  verified: log checkpoint and witnesses, bundle = logged key, key policy = release template, attestation of the released PCR0, key binding');
    out(`  summary: ${summary.summary}`);
    const composed = await client.compose({ draft: "sounds good, i'll bring the blanket", tone: 'friendly', chat });
    out(`  composed reply: ${composed.text}`);

    section('Advanced Chat Privacy');
    const refused = await client.summarize({ ...chat, id: 'private', advancedChatPrivacy: true }).catch((e: unknown) => e);
    if (!(refused instanceof ChatPrivate)) throw new Error('a private chat was not refused');
    out(`  a chat with Advanced Chat Privacy: refused on the device (${refused.code}), nothing encoded or sent`);

    section('Tamper demonstration');
    // 1. An enclave built from modified code asks KMS for the session key material.
    const bundle = localEnclaveBundle();
    const files = new Map(bundle.files);
    const handler = 'enclave-app/server/handler.ts';
    files.set(handler, new TextEncoder().encode(`${new TextDecoder().decode(files.get(handler)!)}\n// exfiltrate requests\n`));
    const modified = measure({ ...bundle, files });
    const { kms } = path.world.kms.enclave(await path.world.kms.nsm({ measurement: modified }));
    const denied = await kms.deriveSharedSecret(sessionKey.kmsKeyArn, generateKeyPair(KEM_P256_HKDF_SHA256).publicKey).catch((e: unknown) => e);
    if (!(denied instanceof KmsClientError)) throw new Error('KMS released key material to a modified enclave');
    out(`  enclave from modified code (PCR0 ${modified.pcr0.slice(0, 16)}…): KMS refused DeriveSharedSecret (${denied.code})`);
    // 2. An unlogged extra key in the bundle.
    await expectTamper(path, 'bundle with an unlogged extra key', rewritingFetch((b) => {
      // A fresh P-256 key whose key id (a byte of its hash) differs from the logged key's.
      let keyConfig: Uint8Array;
      do {
        const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });
        keyConfig = sessionKeyConfigBytes(new Uint8Array(spki));
      } while (b.keys.some((k) => k.keyConfig[0] === keyConfig[0]));
      const extra = { ...b.keys[0]!, keyConfig, kmsKeyArn: b.keys[0]!.kmsKeyArn.replace(/key\/.*/, 'key/00000000-0000-4000-8000-00000000beef') };
      return encodeKeyBundle({ ...b, keys: [...b.keys, extra].sort((x, y) => x.keyConfig[0]! - y.keyConfig[0]!) });
    }), chat);
    // 3. A bundle whose attestation is of an unreleased measurement (correctly bound).
    const sha = (v: Uint8Array | string) => new Uint8Array(createHash('sha256').update(v).digest());
    const t = Math.floor(Date.now() / 1000);
    const rogue = await path.world.kms.nsm({ measurement: modified });
    const document = await rogue.attest({
      userData: encodeUserData({ keyConfigSha256: sha(sessionKey.keyConfig), kmsKeyArn: sessionKey.kmsKeyArn, keyPolicySha256: sha(sessionKey.keyPolicy), releaseId: sessionKey.releaseId, policyCheckedAt: t, notAfter: t + 600 }),
    });
    await expectTamper(path, 'bundle for an unreleased measurement', rewritingFetch((b) => encodeKeyBundle({ ...b, keys: [{ ...b.keys[0]!, attestation: document }] })), chat);

    section('Who saw what');
    const relayed = path.recorded.filter((r) => r.component === 'relay' && r.request.path === '/v1/ohttp');
    const atGateway = path.recorded.filter((r) => r.component === 'gateway' && r.request.path === '/v1/ohttp');
    const sizes = [...new Set(relayed.map((r) => r.request.body.length))].join(', ');
    out(`  relay:   the client's address (127.0.0.1, its socket peer) and ${relayed.length} ciphertexts of ${sizes} bytes, each with an opaque token; no content`);
    out(`  gateway: ${atGateway.filter((r) => r.request.headers.authorization).length} anonymous tokens and ${atGateway.length} ciphertexts; headers: ${[...new Set(atGateway.flatMap((r) => Object.keys(r.request.headers)))].sort().join(', ')}; no address, no account`);
    out(`  issuer:  account "alice" and ${path.recorded.filter((r) => r.component === 'issuer' && r.response.status === 200).length} blinded token requests; never a token`);
    out('  enclave: the plaintext chat, in memory only, for the time of each request; its log lines carry events and codes only:');
    const events = new Map<string, number>();
    for (const line of path.logs.parent!) {
      const e = JSON.parse(line) as { component: string; event: string };
      if (e.component === 'enclave') events.set(e.event, (events.get(e.event) ?? 0) + 1);
    }
    out(`           ${[...events].map(([e, n]) => `${e}×${n}`).join(', ')}`);
    const everything = Object.values(path.logs).flat().join('\n');
    const leaked = ['picnic', 'blanket', 'alice'].filter((w) => everything.toLowerCase().includes(w));
    if (leaked.length > 0) throw new Error(`log lines contain ${leaked.join(', ')}`);
    out('  no log line of any party contains the chat, the account or a token');
    client.optOut();
    out('\nAll checks passed.');
  } finally {
    await path.stop();
  }
}

/** `npm start -- --serve`: the stack stays up on fixed ports for `ppx --local` and other clients. */
async function serve(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const portOf = (name: string, fallback: number) => {
    const value = Number(process.env[name] ?? fallback);
    if (!Number.isInteger(value) || value < 1 || value > 65535) throw new Error(`${name} is not a port`);
    return value;
  };
  const path = await privatePathWorld({
    record: false,
    enclave: 'process',
    logWriterPort: portOf('PP_LOG_WRITER_PORT', 8791),
    ports: { relay: portOf('PP_RELAY_PORT', 8787), gateway: portOf('PP_GATEWAY_PORT', 8788), issuer: portOf('PP_ISSUER_PORT', 8789), log: portOf('PP_LOG_PORT', 8790) },
  });
  const config = clientConfig(path);
  const endpoints = {
    relayUrls: config.relayUrls,
    issuerUrl: config.issuerUrl,
    issuerName: config.issuerName,
    originName: config.originName,
    gatewayUrl: path.gatewayUrl,
    logUrl: path.logUrl,
    log: config.log,
    attestationRootPem: path.world.kms.rootPem,
  };
  const dir = process.env.PP_LOCAL_DIR ?? join(process.cwd(), '.local');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'endpoints.json'), `${JSON.stringify(endpoints, null, 2)}\n`, { mode: 0o600 });
  // For operators: the log writer's append endpoint and the emulated KMS, so that
  // `npm run release -- publish --local` can publish a release into this stack.
  const operator: LocalOperatorFile = {
    logWriterUrl: path.logWriterUrl,
    publisherSecret: path.logWriterSecrets.publisher,
    kms: {
      endpoint: path.world.kms.url,
      region: REGION,
      account: ACCOUNT,
      publisher: { accessKeyId: IDENTITIES.publisher.accessKeyId, secretAccessKey: IDENTITIES.publisher.secretAccessKey },
      deployer: { accessKeyId: IDENTITIES.deployer.accessKeyId, secretAccessKey: IDENTITIES.deployer.secretAccessKey },
    },
  };
  writeFileSync(join(dir, 'operator.json'), `${JSON.stringify(operator, null, 2)}\n`, { mode: 0o600 });
  const credential = await accountToken('local-user', { iat: Math.floor(Date.now() / 1000), expiresIn: 3600 });
  out('Private Processing: local stack serving on 127.0.0.1 (LOCAL TRUST: the attestation emulator\'s root; never for production)');
  out(`  relay ${path.relayUrl}  gateway ${path.gatewayUrl}  issuer ${path.issuerUrl}  log ${path.logUrl}`);
  out(`  endpoints and local trust anchors: ${join(dir, 'endpoints.json')}`);
  out(`  log writer ${path.logWriterUrl} (for \`npm run release -- publish --local\`: ${join(dir, 'operator.json')})`);
  out(`  account credential for the local issuer (valid 1 hour): ${credential}`);
  out('  publication delay: 0 in this local configuration (72 hours in production)');
  out('serving; Ctrl-C stops');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await path.stop();
}

(process.argv.includes('--serve') ? serve() : main()).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`npm start failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}\n`);
    process.exit(1);
  },
);
