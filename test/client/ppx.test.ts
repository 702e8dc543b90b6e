// ppx against the local stack: commands, --json, and every exit code.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateNoteKey } from '../../protocol';
import { EXIT, ppx } from '../../client/cli/ppx';
import { SAMPLE_CHAT } from '../helpers/enclave';
import { accountToken } from '../helpers/privacy-pass';
import { clientConfig, usePrivatePath } from '../helpers/private-path';

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
  const s = await run(['summarize', chatFile({ id: 'c1', ...SAMPLE_CHAT }), '--local']);
  expect([s.code, s.out]).toEqual([EXIT.OK, expect.stringMatching(/picnic/i)]);
  const c = await run(['compose', '--tone', 'formal', "i can't make it", '--local', '--json']);
  expect(c.code).toBe(EXIT.OK);
  expect(typeof JSON.parse(c.out).text).toBe('string');
});

test('exit codes: usage 1, unavailable 2, tamper 3, refused 4 — each one line with a code', async () => {
  const cases: [string[], Record<string, string | undefined>, number, RegExp][] = [
    [['summarize', '--local'], {}, EXIT.USAGE, /^ppx: USAGE usage: ppx summarize/m],
    [['compose', '--tone', 'angry', 'hi', '--local'], {}, EXIT.USAGE, /^ppx: USAGE --tone is one of/m],
    [['verify', '--local'], { PPX_ACCOUNT_TOKEN: undefined }, EXIT.USAGE, /^ppx: USAGE PPX_ACCOUNT_TOKEN is not set/m],
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
