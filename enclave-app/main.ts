// The enclave image's entry point (bundled by the release pipeline with
// __PP_BUILD__ = "production"). What makes a release is compiled in, and so measured
// into PCR0: the release id, the model's SHA-256 and the region whose KMS it talks to.
// Everything else arrives from the parent (credentials, the `boot` frame) and is
// checked against the measurement before the enclave serves.
//
// It listens only on the Unix socket the vsock bridge connects to, reads the NSM
// through the bridge helper, and reaches KMS only at kms.<region>.amazonaws.com (the
// in-enclave forwarder carries that over vsock to the parent's vsock-proxy).

import { NsmDeviceTransport } from './nsm/device';
import { startEnclave } from './start';

declare const __PP_RELEASE_ID__: string;
declare const __PP_MODEL_SHA256__: string;
declare const __PP_REGION__: string;

/** Where the vsock bridge (socat VSOCK-LISTEN:5000 → UNIX-CONNECT) delivers the parent. */
export const ENCLAVE_SOCKET = '/run/pp/enclave.sock';

async function main(): Promise<void> {
  const running = await startEnclave({
    nsm: new NsmDeviceTransport(),
    region: __PP_REGION__,
    listen: { path: ENCLAVE_SOCKET },
    config: { fromParent: { releaseId: __PP_RELEASE_ID__, modelSha256: __PP_MODEL_SHA256__ } },
  });
  // A failed boot has logged its reason on the parent channel; the image's init restarts nothing.
  running.booted.catch(() => setTimeout(() => process.exit(2), 500));
}

main().catch(() => process.exit(1));
