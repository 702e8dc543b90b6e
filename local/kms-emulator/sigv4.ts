// Authenticates a request the way KMS does: AWS Signature Version 4. The emulator
// recomputes the signature with @smithy/signature-v4 (the SDK's own signer) over the
// headers the caller signed and compares; it also checks the body against its
// signed SHA-256 and the request time against a five-minute window.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '../../lambdas/common/signed-fetch';

export interface Credential {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export class SigV4Error extends Error {
  constructor(
    readonly exception: 'IncompleteSignatureException' | 'InvalidSignatureException' | 'UnrecognizedClientException',
    message: string,
  ) {
    super(message);
  }
}


const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([A-Z0-9]{16,128})\/(\d{8})\/([a-z0-9-]+)\/kms\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;
const MAX_SKEW_MS = 5 * 60 * 1000;

function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  return m ? new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)) : undefined;
}

/** Returns the access key id of a correctly signed request, or throws SigV4Error. */
export async function verifySigV4(
  input: { method: string; path: string; headers: IncomingHttpHeaders; body: Buffer },
  lookup: (accessKeyId: string) => Credential | undefined,
  now: Date,
): Promise<Credential> {
  const m = AUTHORIZATION.exec(String(input.headers.authorization ?? ''));
  if (!m) throw new SigV4Error('IncompleteSignatureException', 'missing or malformed Authorization');
  const [, accessKeyId, day, region, signedList, signature] = m as unknown as [string, string, string, string, string, string];
  const credential = lookup(accessKeyId);
  if (!credential) throw new SigV4Error('UnrecognizedClientException', 'The security token included in the request is invalid.');
  const date = parseAmzDate(String(input.headers['x-amz-date'] ?? ''));
  if (!date || !date.toISOString().replace(/-/g, '').startsWith(day)) throw new SigV4Error('IncompleteSignatureException', 'bad X-Amz-Date');
  if (Math.abs(date.getTime() - now.getTime()) > MAX_SKEW_MS) throw new SigV4Error('InvalidSignatureException', 'Signature expired');
  const signed = signedList.split(';');
  for (const required of ['host', 'x-amz-date', 'x-amz-target']) {
    if (!signed.includes(required)) throw new SigV4Error('IncompleteSignatureException', `${required} must be signed`);
  }
  if (credential.sessionToken !== undefined) {
    if (!signed.includes('x-amz-security-token') || input.headers['x-amz-security-token'] !== credential.sessionToken) {
      throw new SigV4Error('UnrecognizedClientException', 'The security token included in the request is invalid.');
    }
  }
  const contentHash = input.headers['x-amz-content-sha256'];
  if (contentHash !== undefined && contentHash !== createHash('sha256').update(input.body).digest('hex')) {
    throw new SigV4Error('InvalidSignatureException', 'The body does not match its signed hash.');
  }
  const headers: Record<string, string> = {};
  for (const name of signed) {
    const value = input.headers[name];
    if (value === undefined) throw new SigV4Error('IncompleteSignatureException', 'a signed header is missing');
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const [hostname, port] = headers.host!.split(':');
  const request = new HttpRequest({
    method: input.method,
    protocol: 'http:',
    hostname,
    ...(port ? { port: Number(port) } : {}),
    path: input.path,
    headers,
    body: input.body.toString('utf8'),
  });
  const signer = new SignatureV4({
    credentials: { accessKeyId: credential.accessKeyId, secretAccessKey: credential.secretAccessKey },
    region,
    service: 'kms',
    sha256: NodeSha256 as never,
    applyChecksum: false,
  });
  const expected = await signer.sign(request, { signingDate: date });
  const got = /Signature=([0-9a-f]{64})/.exec(String(expected.headers.authorization))?.[1] ?? '';
  if (got.length !== 64 || !timingSafeEqual(Buffer.from(got), Buffer.from(signature))) {
    throw new SigV4Error('InvalidSignatureException', 'The request signature we calculated does not match the signature you provided.');
  }
  return credential;
}
