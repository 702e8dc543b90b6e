// A transparency log for the local stack and tests: a log writer with witnesses, in memory.
import { generateCosignerKey, generateNoteKey, parseCosignerSignerKey, parseSignerKey, type LogEntry } from '../../protocol';
import { LogWriter, type WitnessEndpoint } from '../../lambdas/log-writer/log';
import { MemoryStorage } from '../../lambdas/log-writer/storage';
import { MemoryWitnessState } from '../../lambdas/witness/state';
import { Witness } from '../../lambdas/witness/witness';

export const ORIGIN = 'log.private-processing.test';
export const ACCOUNT = '111122223333';
export const REGION = 'eu-west-1';
export const PCR0 = 'a1'.repeat(48);
export const T0 = 1_790_000_000; // Unix seconds

export const LOG_KEY = generateNoteKey(ORIGIN);
export const WITNESS_KEYS = [generateCosignerKey('witness-a.test'), generateCosignerKey('witness-b.test'), generateCosignerKey('witness-c.test')];

export class Clock {
  constructor(public seconds = T0) {}
  now = () => this.seconds * 1000;
  advance(seconds: number): void {
    this.seconds += seconds;
  }
}

export function witnessFor(key: { signerKey: string; verifierKey: string }, clock: Clock): { witness: Witness; endpoint: WitnessEndpoint } {
  const witness = new Witness({
    cosigner: parseCosignerSignerKey(key.signerKey),
    logs: [{ origin: ORIGIN, verifierKeys: [LOG_KEY.verifierKey] }],
    state: new MemoryWitnessState(),
    now: clock.now,
  });
  return { witness, endpoint: { verifierKey: key.verifierKey, addCheckpoint: (body) => witness.addCheckpoint(body) } };
}

export async function logWorld(options: { witnesses?: number; clock?: Clock; allowEmulated?: boolean } = {}) {
  const clock = options.clock ?? new Clock();
  const storage = new MemoryStorage();
  const witnesses = WITNESS_KEYS.slice(0, options.witnesses ?? 2).map((k) => witnessFor(k, clock));
  const log = await LogWriter.open({
    storage,
    origin: ORIGIN,
    signer: parseSignerKey(LOG_KEY.signerKey),
    witnesses: witnesses.map((w) => w.endpoint),
    allowEmulated: options.allowEmulated ?? true,
    now: clock.now,
  });
  return { clock, storage, log, witnesses };
}

export function releaseEntry(releaseId: string, notBefore = T0, pcr0 = PCR0): LogEntry {
  return {
    type: 'release',
    releaseId,
    kind: 'emulated',
    pcr0: Buffer.from(pcr0, 'hex'),
    pcr1: new Uint8Array(48).fill(2),
    pcr2: new Uint8Array(48).fill(3),
    imageSha384: new Uint8Array(48).fill(4),
    modelSha256: new Uint8Array(32).fill(5),
    sourceCommit: 'f'.repeat(40),
    buildRecipe: 'npm run release',
    notBefore,
    notAfter: notBefore + 365 * 86400,
  };
}
