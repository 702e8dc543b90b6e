// Where the enclave reaches KMS. A production build talks only to
// https://kms.<region>.amazonaws.com, over TLS that terminates inside the enclave
// (DESIGN.md §2, §5b). The override to a local emulator exists only in a local
// build: the release build defines __PP_BUILD__ as "production", which turns the
// branch below into `if (false)`, and esbuild drops it together with its require,
// so the override code is not in the production bundle (a test inspects it).

import { KmsClientError } from './errors';

declare const __PP_BUILD__: string | undefined;

const REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;

export function kmsEndpoint(region: string, override?: string): string {
  if (!REGION.test(region)) throw new KmsClientError('ENDPOINT_FORBIDDEN', 'invalid region');
  if (override === undefined) return `https://kms.${region}.amazonaws.com`;
  if (typeof __PP_BUILD__ === 'undefined' || __PP_BUILD__ !== 'production') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('./local-endpoint') as typeof import('./local-endpoint')).localKmsEndpoint(override);
  }
  throw new KmsClientError('ENDPOINT_FORBIDDEN', 'a production build has no KMS endpoint override');
}
