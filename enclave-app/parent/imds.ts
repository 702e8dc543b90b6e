// IMDSv2: the parent instance's role credentials, which it pushes into the enclave
// (the enclave has no metadata service). Session-token flow only (IMDSv1 is disabled
// on the workers and the hop limit is 1, so containers cannot reach it either).

import type { InstanceCredentials } from './proxy';

export const IMDS_ENDPOINT = 'http://169.254.169.254';

export function imdsCredentials(options: { endpoint?: string; fetch?: typeof fetch; ttlSeconds?: number } = {}): () => Promise<InstanceCredentials> {
  const endpoint = options.endpoint ?? IMDS_ENDPOINT;
  const f = options.fetch ?? fetch;
  return async () => {
    const tokenResponse = await f(`${endpoint}/latest/api/token`, {
      method: 'PUT',
      headers: { 'x-aws-ec2-metadata-token-ttl-seconds': String(options.ttlSeconds ?? 300) },
    });
    if (!tokenResponse.ok) throw new Error('IMDSv2 token refused');
    const token = await tokenResponse.text();
    const headers = { 'x-aws-ec2-metadata-token': token };
    const roles = await f(`${endpoint}/latest/meta-data/iam/security-credentials/`, { headers });
    if (!roles.ok) throw new Error('no instance role');
    const role = (await roles.text()).split('\n')[0]!.trim();
    if (!/^[A-Za-z0-9+=,.@_-]{1,64}$/.test(role)) throw new Error('unexpected role name');
    const creds = await f(`${endpoint}/latest/meta-data/iam/security-credentials/${role}`, { headers });
    if (!creds.ok) throw new Error('no credentials');
    const c = (await creds.json()) as { Code?: string; AccessKeyId?: string; SecretAccessKey?: string; Token?: string; Expiration?: string };
    if (c.Code !== 'Success' || !c.AccessKeyId || !c.SecretAccessKey) throw new Error('credentials not available');
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      ...(c.Token ? { sessionToken: c.Token } : {}),
      ...(c.Expiration ? { expiration: Math.floor(Date.parse(c.Expiration) / 1000) } : {}),
    };
  };
}
