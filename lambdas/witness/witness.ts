// A transparency-log witness speaking C2SP tlog-witness: it cosigns a log's checkpoint
// (C2SP tlog-cosignature, cosignature/v1, timestamped) only after checking the log's
// signature and that the checkpoint extends, by a valid consistency proof, the last
// one it cosigned. Run by organisations independent of the operator; the local stack
// runs two.

import {
  CONTENT_TYPE_TLOG_SIZE,
  EMPTY_ROOT,
  NoteError,
  decodeAddCheckpoint,
  decodeBase64Strict,
  formatSignatureLine,
  parseCheckpoint,
  parseVerifierKey,
  verifyCheckpoint,
  verifyConsistency,
  type Cosigner,
  type NoteVerifier,
} from '../../protocol';
import type { WitnessStateStore } from './state';

export interface WitnessedLog {
  readonly origin: string;
  /** The log's verifier keys (`name+id+key`). */
  readonly verifierKeys: readonly string[];
}

export interface WitnessResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

export interface WitnessOptions {
  readonly cosigner: Cosigner;
  readonly logs: readonly WitnessedLog[];
  readonly state: WitnessStateStore;
  readonly now?: () => number;
}

const text = (status: number, body: string, contentType = 'text/plain; charset=utf-8'): WitnessResponse => ({ status, contentType, body });

export class Witness {
  private readonly logs = new Map<string, NoteVerifier[]>();

  constructor(private readonly options: WitnessOptions) {
    for (const log of options.logs) this.logs.set(log.origin, log.verifierKeys.map(parseVerifierKey));
  }

  get name(): string {
    return this.options.cosigner.name;
  }

  /** POST <prefix>/add-checkpoint */
  async addCheckpoint(body: string): Promise<WitnessResponse> {
    let request;
    let parsed;
    try {
      request = decodeAddCheckpoint(body);
      parsed = parseCheckpoint(request.checkpoint);
    } catch {
      return text(400, 'malformed request\n');
    }
    const verifiers = this.logs.get(parsed.origin);
    if (!verifiers) return text(404, 'unknown log\n');
    let checkpoint;
    try {
      checkpoint = verifyCheckpoint(request.checkpoint, { origin: parsed.origin, verifiers });
    } catch (err) {
      return err instanceof NoteError && (err.code === 'NO_TRUSTED_SIGNATURE' || err.code === 'SIGNATURE_INVALID')
        ? text(403, 'no valid log signature\n')
        : text(400, 'malformed checkpoint\n');
    }
    if (request.oldSize > checkpoint.size) return text(400, 'old size exceeds the checkpoint size\n');
    const stored = await this.options.state.get(checkpoint.origin);
    const storedSize = stored?.size ?? 0;
    if (request.oldSize !== storedSize) return text(409, `${storedSize}\n`, CONTENT_TYPE_TLOG_SIZE);
    const storedRoot = stored ? decodeBase64Strict(stored.rootHash)! : EMPTY_ROOT;
    const newRoot = Buffer.from(checkpoint.rootHash).toString('base64');
    if (request.oldSize === checkpoint.size) {
      if (stored && stored.rootHash !== newRoot) return text(409, `${storedSize}\n`, CONTENT_TYPE_TLOG_SIZE);
      if (request.proof.length !== 0) return text(422, 'a proof between equal sizes must be empty\n');
    } else if (request.oldSize === 0) {
      if (request.proof.length !== 0) return text(422, 'a proof from size 0 must be empty\n');
    } else {
      try {
        verifyConsistency(request.oldSize, checkpoint.size, request.proof, storedRoot, checkpoint.rootHash);
      } catch {
        return text(422, 'the consistency proof does not verify\n');
      }
    }
    const recorded = await this.options.state.compareAndSet(checkpoint.origin, storedSize, { size: checkpoint.size, rootHash: newRoot });
    if (!recorded) {
      const now = await this.options.state.get(checkpoint.origin);
      return text(409, `${now?.size ?? 0}\n`, CONTENT_TYPE_TLOG_SIZE);
    }
    const noteText = request.checkpoint.slice(0, request.checkpoint.lastIndexOf('\n\n') + 1);
    const timestamp = Math.floor((this.options.now ?? Date.now)() / 1000);
    return text(200, formatSignatureLine(this.options.cosigner.cosign(noteText, timestamp)));
  }
}
