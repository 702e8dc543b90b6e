// Appending to the log writer over HTTP: its `POST /v1/entries` route, SigV4-signed in AWS
// (API Gateway checks the caller's IAM identity), or with the local stack's bearer secret.
// Used by the release pipeline's publish step and the issuer-rotation function.
import { encodeLogEntry, type LogEntry } from '../../protocol';
import { signedPost, type AwsCredentials } from '../common/signed-fetch';

/** The log writer's answer: the entry's index, or an Error carrying its refusal code. */
export async function readAppendResponse(response: Response): Promise<{ index: number }> {
  const body = (await response.json().catch(() => ({}))) as { index?: unknown; error?: unknown };
  if (response.status === 200 && typeof body.index === 'number') return { index: body.index };
  const code = typeof body.error === 'string' && /^[A-Z_]{1,40}$/.test(body.error) ? body.error : `HTTP_${response.status}`;
  throw Object.assign(new Error(`the log writer refused the entry: ${code}`), { code });
}

/** Appends through a log writer's endpoint: SigV4-signed for API Gateway (AWS), or with the local stack's bearer secret. */
export function logWriterAppender(
  url: string,
  auth: { readonly bearer: string } | { readonly credentials: () => Promise<AwsCredentials>; readonly region: string },
): (entry: LogEntry) => Promise<{ index: number }> {
  return async (entry) => {
    const body = encodeLogEntry(entry);
    const response =
      'bearer' in auth
        ? await fetch(url, { method: 'POST', headers: { 'content-type': 'application/cbor', authorization: `Bearer ${auth.bearer}` }, body })
        : await signedPost(url, body, { credentials: await auth.credentials(), region: auth.region, contentType: 'application/cbor' });
    return readAppendResponse(response);
  };
}

