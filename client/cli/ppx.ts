// ppx: the command line for users and auditors.
//
//   ppx summarize <chat.json>            a verified, private summary of a chat
//   ppx compose [--tone t] <text...>     a rewritten reply
//   ppx verify                           the verification transcript (log, release, key, attestation, binding)
//
// Options: --local (trust the local stack's attestation emulator, read .local/endpoints.json;
// announced on every run), --json (machine-readable output). Otherwise the pinned
// configuration comes from the file named by PPX_CONFIG. The account credential for the
// issuer comes from PPX_ACCOUNT_TOKEN.
//
// Exit codes: 0 done; 1 usage or input error; 2 unavailable (try later); 3 tamper alert
// (nothing was sent); 4 refused (by the SDK or the service). Errors are one line:
// `ppx: <CODE> <message>`.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChatPrivate, ClientError, PrivateProcessingClient, TamperAlert, Unavailable, type ChatInput, type PrivateProcessingConfig } from '..';
import { LogSync, LogSyncError } from '../log/sync';
import { verifyBundle } from '../verify';
import { TONES, type Tone } from '../../protocol';

export const EXIT = { OK: 0, USAGE: 1, UNAVAILABLE: 2, TAMPER: 3, REFUSED: 4 } as const;

class UsageError extends Error {}

interface Io {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

function loadConfig(local: boolean, io: Io): PrivateProcessingConfig & { readonly gatewayUrl?: string } {
  const credential = io.env.PPX_ACCOUNT_TOKEN;
  if (!credential) throw new UsageError('PPX_ACCOUNT_TOKEN is not set (the account credential for the issuer)');
  if (local) {
    const path = join(io.env.PP_LOCAL_DIR ?? join(io.cwd, '.local'), 'endpoints.json');
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    } catch {
      throw new UsageError(`no local stack: ${path} is missing (run \`npm start -- --serve\`)`);
    }
    return { ...(e as unknown as PrivateProcessingConfig), accountCredential: async () => credential, local: { attestationRootPem: e.attestationRootPem as string } };
  }
  const path = io.env.PPX_CONFIG;
  if (!path) throw new UsageError('PPX_CONFIG is not set (the pinned configuration), or use --local');
  const pinned = JSON.parse(readFileSync(path, 'utf8')) as PrivateProcessingConfig;
  const { local: _ignored, ...rest } = pinned;
  return { ...rest, accountCredential: async () => credential };
}

/** Shows a progress line on stderr for anything slower than a second. */
async function withProgress<T>(io: Io, what: string, work: () => Promise<T>): Promise<T> {
  const timer = setTimeout(() => io.err(`ppx: ${what}…`), 1000);
  try {
    return await work();
  } finally {
    clearTimeout(timer);
  }
}

async function readyClient(config: PrivateProcessingConfig): Promise<PrivateProcessingClient> {
  // One token for this run, fetched now: a command line is used on demand.
  const client = new PrivateProcessingClient({ ...config, wallet: { batchSize: 1, intervalMs: 3_600_000, jitterMs: 1, capacity: 1 } });
  client.optIn();
  for (let i = 0; i < 600 && client.tokensAvailable === 0; i++) await new Promise((r) => setTimeout(r, 25));
  if (client.tokensAvailable === 0) throw new Unavailable('NO_TOKENS', undefined, 'the issuer gave no token');
  return client;
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = args[i + 1];
  if (value === undefined) throw new UsageError(`${name} needs a value`);
  args.splice(i, 2);
  return value;
}

export async function ppx(argv: readonly string[], io: Io): Promise<number> {
  const args = [...argv];
  const json = args.includes('--json');
  const local = args.includes('--local');
  const rest = args.filter((a) => a !== '--json' && a !== '--local');
  const command = rest.shift();
  try {
    if (local) io.err('ppx: LOCAL TRUST — using the local stack and its attestation emulator; never for real use');
    if (command === 'summarize') {
      const file = rest[0];
      if (!file) throw new UsageError('usage: ppx summarize <chat.json>');
      let chat: ChatInput;
      try {
        chat = JSON.parse(readFileSync(file, 'utf8')) as ChatInput;
      } catch {
        throw new UsageError(`${file} is not a readable JSON chat`);
      }
      const config = loadConfig(local, io);
      const result = await withProgress(io, 'verifying and summarising', async () => {
        const client = await readyClient(config);
        try {
          return await client.summarize({ ...chat, id: chat.id ?? file });
        } finally {
          client.optOut();
        }
      });
      io.out(json ? JSON.stringify(result) : result.summary);
      return EXIT.OK;
    }
    if (command === 'compose') {
      const tone = (flag(rest, '--tone') ?? 'friendly') as Tone;
      if (!TONES.includes(tone)) throw new UsageError(`--tone is one of ${TONES.join(', ')}`);
      const draft = rest.join(' ');
      if (!draft) throw new UsageError('usage: ppx compose [--tone friendly|formal|concise] <text>');
      const config = loadConfig(local, io);
      const result = await withProgress(io, 'verifying and composing', async () => {
        const client = await readyClient(config);
        try {
          return await client.compose({ draft, tone });
        } finally {
          client.optOut();
        }
      });
      io.out(json ? JSON.stringify(result) : result.text);
      return EXIT.OK;
    }
    if (command === 'verify') {
      const config = loadConfig(local, io);
      const transcript = await withProgress(io, 'verifying', () => verifyTranscript(config));
      if (json) io.out(JSON.stringify(transcript));
      else for (const [k, v] of Object.entries(transcript)) io.out(`${k.padEnd(18)} ${v}`);
      return EXIT.OK;
    }
    throw new UsageError('usage: ppx <summarize|compose|verify> [--local] [--json] …');
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`ppx: USAGE ${err.message}`);
      return EXIT.USAGE;
    }
    if (err instanceof TamperAlert) {
      io.err(`ppx: TAMPER ${err.step}/${err.code} — nothing was sent`);
      return EXIT.TAMPER;
    }
    if (err instanceof Unavailable) {
      io.err(`ppx: UNAVAILABLE ${err.code}${err.retryAfter !== undefined ? ` (retry after ${err.retryAfter} s)` : ''}`);
      return EXIT.UNAVAILABLE;
    }
    if (err instanceof ChatPrivate || err instanceof ClientError) {
      io.err(`ppx: ${err.code} ${err.message}`);
      return err.code === 'INVALID_INPUT' ? EXIT.USAGE : EXIT.REFUSED;
    }
    io.err(`ppx: ERROR ${err instanceof Error ? err.message : String(err)}`);
    return EXIT.USAGE;
  }
}

/** The verification pipeline, step by step, with what each step saw. */
async function verifyTranscript(config: PrivateProcessingConfig): Promise<Record<string, string>> {
  const relay = config.relayUrls[0]!.replace(/\/+$/, '');
  const f = config.fetch ?? fetch;
  const sync = new LogSync({
    ...config.log,
    fetch: async (p) => {
      let res: Response;
      try {
        res = await f(`${relay}/log/${p}`);
      } catch {
        throw new Unavailable('NETWORK');
      }
      return res.status === 200 ? new Uint8Array(await res.arrayBuffer()) : undefined;
    },
  });
  try {
    await sync.sync();
  } catch (err) {
    if (err instanceof Unavailable || (err instanceof LogSyncError && err.code === 'UNAVAILABLE')) throw new Unavailable('NETWORK');
    throw new TamperAlert('log', err instanceof LogSyncError ? err.code : 'FAILED', {});
  }
  const state = sync.state();
  const live = sync.liveSet();
  let res: Response;
  try {
    res = await f(`${relay}/v1/keys`);
  } catch {
    throw new Unavailable('NETWORK');
  }
  if (res.status !== 200) throw new Unavailable('SERVICE');
  const now = new Date();
  const key = await verifyBundle(new Uint8Array(await res.arrayBuffer()), live, { now, ...(config.local ? { trustAnchorPem: config.local.attestationRootPem } : {}) });
  const checkpointLines = (state.checkpoint ?? '').split('\n');
  const cosignatures = checkpointLines.filter((l) => l.startsWith('— ')).length - 1;
  return {
    log: `${checkpointLines[0]} size ${state.size}, signed by the pinned log key, ${cosignatures} witness cosignatures (quorum ${config.log.quorum})`,
    release: `${key.releaseId}, PCR0 ${key.pcr0}`,
    'session key': `${key.kmsKeyArn}, policy = the release's template`,
    attestation: `chain to ${config.local ? 'the LOCAL emulator root' : 'AWS Nitro Enclaves Root-G1'}, PCR0 matches, ${Math.round((now.getTime() - key.attestedAt) / 1000)} s old`,
    binding: `user_data binds key config, key ARN, policy hash and release; valid until ${new Date(key.validUntil).toISOString()}`,
    'issuer key': live.currentIssuerKey ? Buffer.from(live.currentIssuerKey.tokenKeyId).toString('hex') : 'none',
  };
}

if (require.main === module) {
  ppx(process.argv.slice(2), {
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(`${l}\n`),
    env: process.env,
    cwd: process.cwd(),
  }).then((code) => process.exit(code));
}
