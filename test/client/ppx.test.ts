// ppx against the local stack: commands, --json, and every exit code.
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeLogEntry, generateNoteKey } from '../../protocol';
import { EXIT, ppx } from '../../client/cli/ppx';
import { SAMPLE_CHAT } from '../helpers/enclave';
import { accountToken } from '../helpers/privacy-pass';
import { clientConfig, usePrivatePath } from '../helpers/private-path';
import { issuerKeyEntry, releaseEntry } from '../helpers/tlog';

jest.setTimeout(90_000);
const world = usePrivatePath();

function localDir(change: (e: Record<string, unknown>) => Record<string, unknown> = (e) => e): string {
  const path = world();
  const config = clientConfig(path);
  const dir = mkdtempSync(join(tmpdir(), 'pp-ppx-'));
  const endpoints = { relayUrls: config.relayUrls, issuerUrl: config.issuerUrl, issuerName: config.issuerName, originName: config.originName, log: config.log, attestationRootPem: path.world.kms.rootPem };
  writeFileSync(join(dir, 'endpoints.json'), JSON.stringify(change(endpoints)));
  return dir;
}

async function run(args: string[], env: Record<string, string | undefined> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const token = await accountToken('ppx-user', { iat: Math.floor(Date.now() / 1000) });
  const code = await ppx(args, { out: (l) => out.push(l), err: (l) => err.push(l), env: { PPX_ACCOUNT_TOKEN: token, PP_LOCAL_DIR: localDir(), ...env }, cwd: tmpdir() });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

function chatFile(chat: object): string {
  const file = join(mkdtempSync(join(tmpdir(), 'pp-chat-')), 'chat.json');
  writeFileSync(file, JSON.stringify(chat));
  return file;
}

test('verify prints the transcript, announcing local trust', async () => {
  const r = await run(['verify', '--local']);
  expect(r.code).toBe(EXIT.OK);
  expect(r.err).toContain('LOCAL TRUST');
  expect(r.out).toMatch(/^log +log\.private-processing\.test size 3, signed by the pinned log key, 2 witness cosignatures/m);
  expect(r.out).toMatch(/^attestation +chain to the LOCAL emulator root, PCR0 matches/m);
  const j = await run(['verify', '--local', '--json']);
  expect(Object.keys(JSON.parse(j.out))).toEqual(['log', 'release', 'session key', 'attestation', 'binding', 'issuer key']);
});

test('summarize and compose, plain and --json', async () => {
  const file = chatFile({ id: 'c1', ...SAMPLE_CHAT });
  const s = await run(['summarize', file, '--local']);
  expect([s.code, s.out]).toEqual([EXIT.OK, expect.stringMatching(/^Ana, Ben and Cai talked about picnic/)]);
  const j = await run(['summarize', '--json', file, '--local']);
  const summary = JSON.parse(j.out);
  expect(Object.keys(summary)).toEqual(['summary', 'topics', 'actionItems', 'decisions', 'questions']);
  expect(summary.actionItems).toEqual([{ owner: 'Ben', text: 'I will bring sandwiches.' }]);
  expect(summary.questions[0]).toEqual({ asker: 'Cai', text: 'Can someone bring a blanket?' });
  const c = await run(['compose', '--tone', 'formal', "i can't make it", '--local', '--json']);
  expect(c.code).toBe(EXIT.OK);
  expect(JSON.parse(c.out)).toEqual({ text: 'I cannot make it.', suggestions: [] });
  // With the chat, replies to its last message are suggested.
  const r = await run(['compose', '--json', '--tone', 'concise', '--chat', file, 'sure, 11 works', '--local']);
  expect(JSON.parse(r.out)).toEqual({ text: 'Sure, 11 works.', suggestions: ['Yes.', 'Checking.', 'No, sorry.'] });
});

test('a chat the engine cannot read is refused politely, with the typed code', async () => {
  const german = { requester: 'Jonas', messages: [{ sender: 'Lea', time: '2026-11-27T09:00:00Z', text: 'Wir könnten am Samstag wandern gehen, das Wetter soll gut werden.' }] };
  const r = await run(['summarize', chatFile(german), '--local']);
  expect(r.code).toBe(EXIT.REFUSED);
  expect(r.err).toMatch(/^ppx: REFUSED the enclave refused: UNSUPPORTED_LANGUAGE \(Sorry, summaries are only available for chats in English for now\.\)$/m);
});

test('exit codes: usage 1, unavailable 2, tamper 3, refused 4 — each one line with a code', async () => {
  const cases: [string[], Record<string, string | undefined>, number, RegExp][] = [
    [['summarize', '--local'], {}, EXIT.USAGE, /^ppx: USAGE usage: ppx summarize/m],
    [['compose', '--tone', 'angry', 'hi', '--local'], {}, EXIT.USAGE, /^ppx: USAGE --tone is one of/m],
    [['compose', 'hi', '--local'], { PPX_ACCOUNT_TOKEN: undefined }, EXIT.USAGE, /^ppx: USAGE PPX_ACCOUNT_TOKEN is not set/m],
    [['verify'], { PPX_CONFIG: join(tmpdir(), 'no-such-config.json') }, EXIT.USAGE, /^ppx: USAGE PPX_CONFIG: .* is not a readable JSON configuration/m],
    [['verify', '--local'], { PP_LOCAL_DIR: join(tmpdir(), 'nothing-here') }, EXIT.USAGE, /^ppx: USAGE no local stack/m],
    [['verify'], {}, EXIT.USAGE, /^ppx: USAGE PPX_CONFIG is not set/m],
    [['verify', '--local'], { PP_LOCAL_DIR: localDir((e) => ({ ...e, relayUrls: ['http://127.0.0.1:1'] })) }, EXIT.UNAVAILABLE, /^ppx: UNAVAILABLE NETWORK/m],
    [['verify', '--local'], { PP_LOCAL_DIR: localDir((e) => ({ ...e, log: { ...(e.log as object), logKey: generateNoteKey('log.private-processing.test').verifierKey } })) }, EXIT.TAMPER, /^ppx: TAMPER log\/CHECKPOINT_INVALID — nothing was sent/m],
    [['summarize', chatFile({ id: 'p', ...SAMPLE_CHAT, advancedChatPrivacy: true }), '--local'], {}, EXIT.REFUSED, /^ppx: CHAT_PRIVATE /m],
  ];
  for (const [args, env, code, line] of cases) {
    const r = await run(args, env);
    expect([args.join(' '), r.code]).toEqual([args.join(' '), code]);
    expect(r.err).toMatch(line);
  }
});

test('audit checks the whole log: plain and --json; a log that does not verify exits 3', async () => {
  const r = await run(['audit', '--local'], { PPX_ACCOUNT_TOKEN: undefined });
  expect(r.code).toBe(EXIT.OK);
  expect(r.err).toContain('LOCAL TRUST');
  expect(r.out).toMatch(/^history +3 checkpoints signed and consistent/m);
  expect(r.out).toMatch(/^release +#0 2026\.11\.27-local \(emulated\) PCR0 [0-9a-f]{96}$/m);
  expect(r.out).toMatch(/^audit +every checkpoint, entry and rule checks out$/m);
  const j = JSON.parse((await run(['audit', '--local', '--json'])).out);
  expect([j.size, j.problems, j.counts]).toEqual([3, [], { release: 1, session_key: 1, issuer_key: 1, revocation: 0 }]);
  expect(j.live.sessionKeys).toEqual([world().world.config.sessionKeyArn]);
  const pinnedOther = localDir((e) => ({ ...e, log: { ...(e.log as object), logKey: generateNoteKey('log.private-processing.test').verifierKey } }));
  const bad = await run(['audit', '--local'], { PP_LOCAL_DIR: pinnedOther });
  expect([bad.code, bad.err]).toEqual([EXIT.TAMPER, expect.stringMatching(/^ppx: TAMPER log\/CHECKPOINT_INVALID/m)]);
});

test('witness: first sight, then each run must extend what this machine saw; a split view exits 3 with evidence', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pp-witness-'));
  const state = join(dir, 'state.json');
  const first = await run(['witness', '--local', '--state', state]);
  expect([first.code, first.out]).toEqual([EXIT.OK, expect.stringMatching(/^first sight: log\.private-processing\.test at 3 entries/)]);
  expect(statSync(state).mode & 0o777).toBe(0o600);
  const again = JSON.parse((await run(['witness', '--local', '--json', '--state', state])).out);
  expect([again.previousSize, again.size, again.added]).toEqual([3, 3, 0]);

  // What this machine saw before differs from what the log serves now at the same size.
  const saved = JSON.parse(readFileSync(state, 'utf8'));
  const other = encodeLogEntry(issuerKeyEntry(Math.floor(Date.now() / 1000)));
  writeFileSync(state, JSON.stringify({ ...saved, entries: [...saved.entries.slice(0, 2), Buffer.from(other).toString('base64')] }));
  const before = readFileSync(state, 'utf8');
  const split = await run(['witness', '--local', '--state', state]);
  expect(split.code).toBe(EXIT.TAMPER);
  expect(split.err).toMatch(/^ppx: TAMPER log\/FORKED/m);
  expect(readFileSync(state, 'utf8')).toBe(before);
  const evidence = readdirSync(dir).filter((f) => f.includes('evidence'));
  expect(evidence).toHaveLength(1);
  expect(readFileSync(join(dir, evidence[0]!), 'utf8')).toContain('served now:\nlog.private-processing.test\n3\n');

  // A state file for another log is a usage error, not a verdict.
  writeFileSync(state, JSON.stringify({ ...saved, origin: 'other.log.test' }));
  const wrong = await run(['witness', '--local', '--state', state]);
  expect([wrong.code, wrong.err]).toEqual([EXIT.USAGE, expect.stringMatching(/follows another log/)]);
});

test('witness follows a growing log', async () => {
  const state = join(mkdtempSync(join(tmpdir(), 'pp-witness-')), 'state.json');
  expect((await run(['witness', '--local', '--state', state])).code).toBe(EXIT.OK);
  await world().log.append(releaseEntry('2026.11.27-next', Math.floor(Date.now() / 1000) + 86_400), 'publisher');
  const grown = await run(['witness', '--local', '--state', state]);
  expect([grown.code, grown.out]).toEqual([EXIT.OK, expect.stringMatching(/grew from 3 to 4 entries \(\+1\), extending what this machine saw/)]);
});
