import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { toHex } from '../../protocol';
import { NsmClient } from '../../enclave-app/nsm/client';
import {
  NSM_ERROR_CODES,
  decodeNsmRequest,
  decodeNsmResponse,
  encodeNsmRequest,
  encodeNsmResponse,
} from '../../enclave-app/nsm/codec';
import { NsmDeviceTransport } from '../../enclave-app/nsm/device';
import { NsmError } from '../../enclave-app/nsm/errors';
import { expectCode, hex } from '../helpers/fixtures';

const BRIDGE_SOURCE = join(__dirname, '..', '..', 'enclave-app', 'nsm', 'bridge', 'nsm-bridge.c');

describe('NSM request encoding is byte-exact to aws-nitro-enclaves-nsm-api (serde_cbor)', () => {
  test('Attestation with nonce 01020304 and other fields None', () => {
    const bytes = encodeNsmRequest({ kind: 'Attestation', userData: null, nonce: hex('01020304'), publicKey: null });
    expect(toHex(bytes)).toBe('a16b4174746573746174696f6ea369757365725f64617461f6656e6f6e636544010203046a7075626c69635f6b6579f6');
  });

  test('unit and struct variants', () => {
    // GetRandom is a unit variant: its name as a text string.
    expect(toHex(encodeNsmRequest({ kind: 'GetRandom' }))).toBe('6947657452616e646f6d');
    // {"DescribePCR": {"index": 0}}, u16 as the smallest CBOR integer.
    expect(toHex(encodeNsmRequest({ kind: 'DescribePCR', index: 0 }))).toBe('a16b4465736372696265504352a165696e64657800');
    expect(toHex(encodeNsmRequest({ kind: 'DescribePCR', index: 300 }))).toBe('a16b4465736372696265504352a165696e64657819012c');
  });

  test('responses: struct variants with byte strings, and Error(code) as {"Error": "<code>"}', () => {
    expect(toHex(encodeNsmResponse({ kind: 'Error', code: 'InvalidIndex' }))).toBe('a1654572726f726c496e76616c6964496e646578');
    // {"GetRandom": {"random": h'0102'}}
    expect(toHex(encodeNsmResponse({ kind: 'GetRandom', random: hex('0102') }))).toBe('a16947657452616e646f6da16672616e646f6d420102');
    // {"DescribePCR": {"lock": true, "data": h'00'}}
    expect(toHex(encodeNsmResponse({ kind: 'DescribePCR', lock: true, data: hex('00') }))).toBe('a16b4465736372696265504352a2646c6f636bf564646174614100');
  });

  test('every encoding decodes back', () => {
    for (const code of NSM_ERROR_CODES) {
      expect(decodeNsmResponse(encodeNsmResponse({ kind: 'Error', code }))).toEqual({ kind: 'Error', code });
    }
    const requests = [
      { kind: 'Attestation', userData: hex('aa'), nonce: null, publicKey: hex('bbcc') },
      { kind: 'DescribePCR', index: 15 },
      { kind: 'GetRandom' },
    ] as const;
    for (const r of requests) expect(decodeNsmRequest(encodeNsmRequest(r))).toEqual(r);
  });

  test('an out-of-range PCR index cannot be encoded', async () => {
    await expectCode(() => encodeNsmRequest({ kind: 'DescribePCR', index: 70000 }), NsmError, 'InvalidArgument');
  });
});

describe('decoding fails closed', () => {
  test('unexpected responses are InvalidResponse', async () => {
    for (const bad of ['a0', '6b4174746573746174696f6e', 'a1654572726f726b4e6f7441436f6465', 'a16b4174746573746174696f6ea0', 'a1664f74686572a0', 'ff']) {
      await expectCode(() => decodeNsmResponse(hex(bad)), NsmError, 'InvalidResponse');
    }
  });

  test('random bytes make the decoders throw only NsmError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        for (const decode of [decodeNsmResponse, decodeNsmRequest]) {
          try {
            decode(bytes);
          } catch (err) {
            expect(err).toBeInstanceOf(NsmError);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('the device transport and its bridge', () => {
  test('the C bridge compiles warning-free with the NSM ioctl number 0xC0200A00', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'nsm-bridge-')), 'nsm-bridge');
    execFileSync('cc', ['-Wall', '-Wextra', '-Werror', '-O2', '-o', out, BRIDGE_SOURCE]);
    // Without /dev/nsm (any machine but an enclave) it exits 2 with a clear message.
    let status: number | null = null;
    try {
      execFileSync(out, [], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      status = (err as { status: number }).status;
    }
    expect(status).toBe(2);
    const probe = join(tmpdir(), `ioctl-${process.pid}.c`);
    writeFileSync(probe, '#include <stdio.h>\n#include <sys/ioctl.h>\n#include <sys/uio.h>\nstruct m { struct iovec a, b; };\nint main(void) { printf("%lx", (unsigned long)_IOWR(0x0A, 0, struct m)); return 0; }\n');
    execFileSync('cc', ['-o', `${probe}.bin`, probe]);
    expect(execFileSync(`${probe}.bin`).toString()).toBe('c0200a00');
  });

  test('frames travel to a bridge and back; a bridge that dies is UNAVAILABLE', async () => {
    // A stand-in bridge: answers every frame with {"GetRandom": {"random": h'0102'}}.
    const script = join(mkdtempSync(join(tmpdir(), 'fake-bridge-')), 'bridge.js');
    const reply = Buffer.from(encodeNsmResponse({ kind: 'GetRandom', random: hex('0102') })).toString('hex');
    writeFileSync(
      script,
      `let buf = Buffer.alloc(0);
       process.stdin.on('data', (d) => {
         buf = Buffer.concat([buf, d]);
         while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
           const n = buf.readUInt32BE(0);
           const req = buf.subarray(4, 4 + n).toString('hex');
           buf = buf.subarray(4 + n);
           if (req === '6947657452616e646f6d') {
             const body = Buffer.from('${reply}', 'hex');
             const h = Buffer.alloc(4); h.writeUInt32BE(body.length);
             process.stdout.write(Buffer.concat([h, body]));
           } else process.exit(7);
         }
       });`,
    );
    const transport = new NsmDeviceTransport([process.execPath, script]);
    const client = new NsmClient(transport);
    const [a, b] = await Promise.all([client.getRandom(), client.getRandom()]);
    expect(toHex(a)).toBe('0102');
    expect(toHex(b)).toBe('0102');
    // Anything but GetRandom makes the stand-in exit: the client sees UNAVAILABLE.
    await expectCode(() => client.describePcr(0), NsmError, 'UNAVAILABLE');
    transport.close();
    const missing = new NsmClient(new NsmDeviceTransport(['/nonexistent/nsm-bridge']));
    await expectCode(() => missing.getRandom(), NsmError, 'UNAVAILABLE');
  });
});
