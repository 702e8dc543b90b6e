// The body of a C2SP tlog-witness `add-checkpoint` request: "old <size>", the
// consistency proof (one base64 hash per line, at most 63), an empty line, then the
// signed checkpoint. Responses are cosignature lines (200), or the witness's size
// (409, text/x.tlog.size).

import { decodeBase64Strict } from '../note';
import { HASH_SIZE } from '../merkle';
import { TlogError } from './tiles';

export const MAX_PROOF_LINES = 63;
export const CONTENT_TYPE_TLOG_SIZE = 'text/x.tlog.size';

export interface AddCheckpointRequest {
  readonly oldSize: number;
  readonly proof: readonly Uint8Array[];
  readonly checkpoint: string;
}

export function encodeAddCheckpoint(request: AddCheckpointRequest): string {
  const lines = [`old ${request.oldSize}`, ...request.proof.map((h) => Buffer.from(h).toString('base64'))];
  return `${lines.join('\n')}\n\n${request.checkpoint}`;
}

export function decodeAddCheckpoint(body: string): AddCheckpointRequest {
  const split = body.indexOf('\n\n');
  if (split < 0) throw new TlogError('MALFORMED', 'no empty line before the checkpoint');
  const lines = body.slice(0, split).split('\n');
  const old = /^old (0|[1-9][0-9]*)$/.exec(lines[0] ?? '');
  if (!old) throw new TlogError('MALFORMED', 'bad old size line');
  const oldSize = Number(old[1]);
  if (!Number.isSafeInteger(oldSize)) throw new TlogError('MALFORMED', 'old size too large');
  const proofLines = lines.slice(1);
  if (proofLines.length > MAX_PROOF_LINES) throw new TlogError('MALFORMED', 'too many proof lines');
  const proof = proofLines.map((line) => {
    const hash = decodeBase64Strict(line);
    if (!hash || hash.length !== HASH_SIZE) throw new TlogError('MALFORMED', 'bad proof line');
    return hash;
  });
  return { oldSize, proof, checkpoint: body.slice(split + 2) };
}
