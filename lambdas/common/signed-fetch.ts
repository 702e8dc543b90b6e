// Calls to an IAM-authorized API Gateway route (the log writer's), signed with SigV4 by
// the AWS SDK's own signer; node:crypto supplies the hash.
import { createHash, createHmac } from 'node:crypto';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

/** node:crypto behind the SDK's Checksum interface. */
export class NodeSha256 {
  private readonly hash;
  constructor(secret?: string | Uint8Array) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', typeof secret === 'string' ? Buffer.from(secret) : Buffer.from(secret));
  }
  update(data: string | Uint8Array): void {
    this.hash.update(typeof data === 'string' ? Buffer.from(data) : data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {}
}

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** POSTs `body` to `url`, signed for `service` in `region` (x-amz-content-sha256 included). */
export async function signedPost(
  url: string,
  body: Uint8Array,
  options: { readonly credentials: AwsCredentials; readonly region: string; readonly contentType: string; readonly service?: string; readonly fetch?: typeof fetch },
): Promise<Response> {
  const target = new URL(url);
  const request = new HttpRequest({
    method: 'POST',
    protocol: target.protocol,
    hostname: target.hostname,
    ...(target.port ? { port: Number(target.port) } : {}),
    path: target.pathname,
    headers: {
      host: target.host,
      'content-type': options.contentType,
      'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'),
    },
    body,
  });
  const signer = new SignatureV4({ credentials: options.credentials, region: options.region, service: options.service ?? 'execute-api', sha256: NodeSha256 as never });
  const signed = await signer.sign(request);
  const headers = Object.fromEntries(Object.entries(signed.headers).filter(([k]) => k !== 'host'));
  return (options.fetch ?? fetch)(url, { method: 'POST', headers, body });
}
