// Attestation: verifying a genuine AWS document cold (nothing cached) and with its
// chain cached, and issuing a document with the local emulator.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { clearChainCache, measure as measureBundle, verifyAttestation } from '../protocol';
import { NsmClient } from '../enclave-app/nsm/client';
import { NsmEmulator } from '../local/nsm-emulator/emulator';
import { measure, printTable } from './harness';

export async function attestationBenchmarks(): Promise<void> {
  const doc = readFileSync(join(__dirname, '..', 'test', 'fixtures', 'nitro', 'evervault-beta-valid-attestation-doc.bin'));
  const options = { releases: 'any' as const, now: new Date(1665651482136) };
  const measurement = measureBundle({ platform: 'emulated-nitro/node-20', files: new Map([['enclave/main.js', new Uint8Array([2])]]) });
  const emulator = await NsmEmulator.create({
    measurement,
    parentRoleArn: 'arn:aws:iam::123456789012:role/worker',
    instanceId: 'i-0bench',
    stateDir: join(tmpdir(), 'pp-bench-nsm'),
  });
  const client = new NsmClient(emulator);
  const emulated = await client.attestation();
  const emulatedOptions = { releases: 'any' as const, trustAnchorPem: emulator.rootPem };
  printTable('Nitro attestation', [
    await measure('verify genuine document, cold (cache cleared each time)', async () => {
      clearChainCache();
      await verifyAttestation(doc, options);
    }),
    await measure('verify genuine document, chain cached', () => verifyAttestation(doc, options)),
    await measure('verify emulated document, chain cached', () => verifyAttestation(emulated, emulatedOptions)),
    await measure('emulator: issue a document (new leaf certificate each time)', () => client.attestation()),
  ]);
}
