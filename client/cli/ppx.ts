// ppx: the command line for users and auditors.
//
//   ppx summarize <chat.json>            a verified, private summary of a chat
//   ppx compose [--tone t] [--chat chat.json] <text...>
//                                        a rewritten draft, and replies suggested to the chat's last message
//   ppx verify                           the verification transcript (log, release, key, attestation, binding)
//   ppx audit                            the whole log: signatures, witnesses, history consistency, every entry's rules
//   ppx witness [--state <file>]         follow the log from this machine: each run must extend what it saw before
//
// Options: --local (trust the local stack's attestation emulator, read .local/endpoints.json;
// announced on every run), --json (machine-readable output). Otherwise the pinned
// configuration comes from the file named by PPX_CONFIG. The account credential for the
// issuer comes from PPX_ACCOUNT_TOKEN.
//
// Exit codes: 0 done; 1 usage or input error; 2 unavailable (try later); 3 tamper alert
// (nothing was sent); 4 refused (by the SDK or the service). Errors are one line:
// `ppx: <CODE> <message>`.

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ChatPrivate, ClientError, localModeAvailable, PrivateProcessingClient, TamperAlert, Unavailable, type ChatInput, type PrivateProcessingConfig } from '..';
import { LogSync, LogSyncError, type LogSyncState } from '../log/sync';
import { auditLog, type AuditReport } from '../log/audit';
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

/** The configuration; `withCredential` for commands that fetch tokens (verify, audit and witness need none). */
function loadConfig(local: boolean, io: Io, withCredential = false): PrivateProcessingConfig & { readonly gatewayUrl?: string } {
  const token = io.env.PPX_ACCOUNT_TOKEN;
  if (withCredential && !token) throw new UsageError('PPX_ACCOUNT_TOKEN is not set (the account credential for the issuer)');
  const credential = async () => {
    if (!token) throw new UsageError('PPX_ACCOUNT_TOKEN is not set (the account credential for the issuer)');
    return token;
  };
  if (local) {
    const path = join(io.env.PP_LOCAL_DIR ?? join(io.cwd, '.local'), 'endpoints.json');
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    } catch {
      throw new UsageError(`no local stack: ${path} is missing (run \`npm start -- --serve\`)`);
    }
    return { ...(e as unknown as PrivateProcessingConfig), accountCredential: credential, local: { attestationRootPem: e.attestationRootPem as string } };
  }
  const path = io.env.PPX_CONFIG;
  if (!path) throw new UsageError('PPX_CONFIG is not set (the pinned configuration), or use --local');
  let pinned: PrivateProcessingConfig;
  try {
    pinned = JSON.parse(readFileSync(path, 'utf8')) as PrivateProcessingConfig;
  } catch {
    throw new UsageError(`PPX_CONFIG: ${path} is not a readable JSON configuration`);
  }
  const { local: _ignored, ...rest } = pinned;
  return { ...rest, accountCredential: credential };
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
    if (local && !localModeAvailable()) throw new UsageError('--local is not available in this build (it would trust the local attestation emulator)');
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
      const config = loadConfig(local, io, true);
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
      const chatFile = flag(rest, '--chat');
      const draft = rest.join(' ');
      if (!draft) throw new UsageError('usage: ppx compose [--tone friendly|formal|concise] [--chat chat.json] <text>');
      let chat: ChatInput | undefined;
      if (chatFile) {
        try {
          const parsed = JSON.parse(readFileSync(chatFile, 'utf8')) as ChatInput;
          chat = { ...parsed, id: parsed.id ?? chatFile };
        } catch {
          throw new UsageError(`${chatFile} is not a readable JSON chat`);
        }
      }
      const config = loadConfig(local, io, true);
      const result = await withProgress(io, 'verifying and composing', async () => {
        const client = await readyClient(config);
        try {
          return await client.compose({ draft, tone, ...(chat ? { chat } : {}) });
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
    if (command === 'audit') {
      const config = loadConfig(local, io);
      const report = await withProgress(io, 'auditing the whole log', () => auditLog({ ...config.log, fetch: logFiles(config) }, { local }).catch(logFailure));
      if (json) io.out(JSON.stringify(auditJson(report)));
      else printAudit(report, io);
      if (report.problems.length > 0) {
        io.err(`ppx: TAMPER log/${report.problems[0]!.code} — ${report.problems.length} problem(s) in the log`);
        return EXIT.TAMPER;
      }
      return EXIT.OK;
    }
    if (command === 'witness') {
      const config = loadConfig(local, io);
      const statePath = flag(rest, '--state') ?? defaultWitnessState(local, io);
      return await withProgress(io, 'following the log', () => witness(config, statePath, json, io));
    }
    throw new UsageError('usage: ppx <summarize|compose|verify|audit|witness> [--local] [--json] …');
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

/**
 * GET through the pinned relays, in order, past those that cannot be reached (as the SDK
 * does). A GET is tried twice per relay: a kept-alive connection the relay closed while
 * this process was busy fails once, and the retry opens a new one.
 */
async function viaRelays(config: PrivateProcessingConfig, path: string): Promise<Response> {
  const f = config.fetch ?? fetch;
  for (const relay of config.relayUrls) {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        return await f(`${relay.replace(/\/+$/, '')}${path}`);
      } catch {
        // again, then the next relay
      }
    }
  }
  throw new Unavailable('NETWORK');
}

/** The log's files, fetched through the relays like the SDK does. */
function logFiles(config: PrivateProcessingConfig): (path: string) => Promise<Uint8Array | undefined> {
  return async (p) => {
    const res = await viaRelays(config, `/log/${p}`);
    return res.status === 200 ? new Uint8Array(await res.arrayBuffer()) : undefined;
  };
}

/** A log that cannot be fetched is unavailable; one that does not check out is tampering. */
function logFailure(err: unknown): never {
  if (err instanceof Unavailable || (err instanceof LogSyncError && err.code === 'UNAVAILABLE')) throw new Unavailable('NETWORK');
  throw new TamperAlert('log', err instanceof LogSyncError ? err.code : 'FAILED', {});
}

/** The verification pipeline, step by step, with what each step saw. */
async function verifyTranscript(config: PrivateProcessingConfig): Promise<Record<string, string>> {
  const sync = new LogSync({ ...config.log, fetch: logFiles(config) });
  try {
    await sync.sync();
  } catch (err) {
    logFailure(err);
  }
  const state = sync.state();
  const live = sync.liveSet();
  const res = await viaRelays(config, '/v1/keys');
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

function auditJson(report: AuditReport) {
  const { live, ...rest } = report;
  return {
    ...rest,
    live: {
      releases: live.releases.map((r) => r.releaseId),
      pendingReleases: live.pendingReleases.map((r) => r.releaseId),
      sessionKeys: live.sessionKeys.map((k) => k.kmsKeyArn),
      issuerKey: live.currentIssuerKey ? Buffer.from(live.currentIssuerKey.tokenKeyId).toString('hex') : null,
    },
  };
}

function printAudit(report: AuditReport, io: Io): void {
  io.out(`log          ${report.origin}, size ${report.size}, root ${report.rootHash}`);
  io.out(`history      ${report.historyVerified} checkpoints signed and consistent with today's tree${report.historyMissing ? `, ${report.historyMissing} sizes without a history file` : ''}`);
  io.out(`entries      ${Object.entries(report.counts).map(([t, n]) => `${n} ${t}`).join(', ')}`);
  for (const r of report.releases) io.out(`release      #${r.index} ${r.releaseId} (${r.kind}) PCR0 ${r.pcr0}`);
  io.out(`live         releases ${report.live.releases.map((r) => r.releaseId).join(', ') || 'none'}; session keys ${report.live.sessionKeys.map((k) => k.kmsKeyArn).join(', ') || 'none'}`);
  for (const w of report.warnings) io.out(`warning      #${w.at} ${w.code} ${w.detail}`);
  for (const p of report.problems) io.out(`PROBLEM      #${p.at} ${p.code} ${p.detail}`);
  io.out(report.problems.length === 0 ? 'audit        every checkpoint, entry and rule checks out' : `audit        ${report.problems.length} problem(s): do not trust this log`);
}

function defaultWitnessState(local: boolean, io: Io): string {
  if (local) return join(io.env.PP_LOCAL_DIR ?? join(io.cwd, '.local'), 'witness-state.json');
  return join(io.env.XDG_STATE_HOME ?? join(io.env.HOME ?? homedir(), '.local', 'state'), 'ppx', 'witness-state.json');
}

interface SavedWitnessState {
  readonly origin: string;
  readonly size: number;
  readonly entries: readonly string[];
  readonly publishedAt: Readonly<Record<number, number>>;
  readonly checkpoint?: string;
}

/**
 * Follows the log from this machine: the copy it saw last time (the state file) must be a
 * prefix of what the log shows now. A smaller or different history is a split view: the
 * old and new checkpoints are kept as evidence next to the state file, which is left as it was.
 */
async function witness(config: PrivateProcessingConfig, statePath: string, json: boolean, io: Io): Promise<number> {
  let saved: SavedWitnessState | undefined;
  try {
    saved = JSON.parse(readFileSync(statePath, 'utf8')) as SavedWitnessState;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new UsageError(`${statePath} is not a witness state file`);
  }
  if (saved && saved.origin !== config.log.origin) throw new UsageError(`${statePath} follows another log (${saved.origin})`);
  const previous: LogSyncState | undefined = saved && {
    size: saved.size,
    entries: saved.entries.map((e) => new Uint8Array(Buffer.from(e, 'base64'))),
    publishedAt: saved.publishedAt,
    ...(saved.checkpoint ? { checkpoint: saved.checkpoint } : {}),
  };
  const files = logFiles(config);
  const sync = new LogSync({ ...config.log, fetch: files }, previous);
  let added: number;
  try {
    added = (await sync.sync()).added;
  } catch (err) {
    if (err instanceof LogSyncError && (err.code === 'ROLLBACK' || err.code === 'FORKED' || err.code === 'ENTRIES_MISMATCH') && saved) {
      const now = await files('checkpoint').catch(() => undefined);
      const evidence = `${statePath}.evidence-${Date.now()}.txt`;
      writeFileSync(evidence, `seen before (size ${saved.size}):\n${saved.checkpoint ?? ''}\n\nserved now:\n${now ? new TextDecoder().decode(now) : '(unavailable)'}\n`, { mode: 0o600 });
      io.err(`ppx: evidence of a split view written to ${evidence}`);
    }
    return logFailure(err);
  }
  const state = sync.state();
  const out: SavedWitnessState = {
    origin: config.log.origin,
    size: state.size,
    entries: state.entries.map((e) => Buffer.from(e).toString('base64')),
    publishedAt: state.publishedAt,
    ...(state.checkpoint ? { checkpoint: state.checkpoint } : {}),
  };
  mkdirSync(dirname(statePath), { recursive: true });
  writeFileSync(`${statePath}.tmp`, JSON.stringify(out), { mode: 0o600 });
  renameSync(`${statePath}.tmp`, statePath);
  const cosigners = (state.checkpoint ?? '').split('\n').filter((l) => l.startsWith('— ')).length - 1;
  const result = { origin: config.log.origin, previousSize: saved?.size ?? 0, size: state.size, added, cosignatures: cosigners, state: statePath };
  if (json) io.out(JSON.stringify(result));
  else
    io.out(
      saved
        ? `consistent: ${config.log.origin} grew from ${saved.size} to ${state.size} entries (+${added}), extending what this machine saw; ${cosigners} cosignatures`
        : `first sight: ${config.log.origin} at ${state.size} entries, signed and cosigned (${cosigners}); saved to ${statePath}`,
    );
  return EXIT.OK;
}

if (require.main === module) {
  ppx(process.argv.slice(2), {
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(`${l}\n`),
    env: process.env,
    cwd: process.cwd(),
  }).then((code) => process.exit(code));
}
