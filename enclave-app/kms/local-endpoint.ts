// Local builds only (see ./endpoint.ts): the KMS emulator on loopback.

import { KmsClientError } from './errors';

export const LOCAL_ENDPOINT_MARKER = 'local KMS emulator endpoint';

export function localKmsEndpoint(url: string): string {
  const u = new URL(url);
  if (u.protocol !== 'http:' || (u.hostname !== '127.0.0.1' && u.hostname !== 'localhost') || u.pathname !== '/') {
    throw new KmsClientError('ENDPOINT_FORBIDDEN', `the ${LOCAL_ENDPOINT_MARKER} must be http on loopback`);
  }
  return `${u.protocol}//${u.host}`;
}
