// Protocol core: OHTTP, BHTTP, Merkle proofs and checkpoints, against the native
// ECDH floor of node:crypto.
import { createECDH, diffieHellman, generateKeyPairSync } from 'node:crypto';
import {
  AEAD_AES_128_GCM,
  KDF_HKDF_SHA256,
  KEM_P256_HKDF_SHA256,
  KEM_X25519_HKDF_SHA256,
  MerkleTree,
  decapsulateRequest,
  decodeBhttpRequest,
  encapsulateRequest,
  encodeBhttpRequest,
  generateKeyPair,
  generateNoteKey,
  leafHash,
  padToBucket,
  parseSignerKey,
  parseVerifierKey,
  signCheckpoint,
  verifyCheckpoint,
  verifyConsistency,
  verifyInclusion,
  type GatewayKey,
  type KeyConfig,
} from '../protocol';
import { measure, printTable, type Result } from './harness';

function gatewayKey(kemId: number): GatewayKey & { config: KeyConfig } {
  const pair = generateKeyPair(kemId);
  return {
    config: { keyId: 1, kemId, publicKey: pair.publicKey, symmetricAlgorithms: [{ kdfId: KDF_HKDF_SHA256, aeadId: AEAD_AES_128_GCM }] },
    privateKey: pair.privateKey,
  };
}

async function ecdhFloor(): Promise<Result[]> {
  const a = generateKeyPairSync('x25519');
  const b = generateKeyPairSync('x25519');
  const p1 = createECDH('prime256v1');
  p1.generateKeys();
  const p2 = createECDH('prime256v1');
  p2.generateKeys();
  const p2Public = p2.getPublicKey();
  return [
    await measure('X25519 ECDH (node:crypto)', () => diffieHellman({ privateKey: a.privateKey, publicKey: b.publicKey })),
    await measure('P-256 ECDH (node:crypto)', () => p1.computeSecret(p2Public)),
  ];
}

async function ohttp(): Promise<Result[]> {
  const results: Result[] = [];
  for (const [kemName, kemId] of [
    ['X25519', KEM_X25519_HKDF_SHA256],
    ['P-256', KEM_P256_HKDF_SHA256],
  ] as const) {
    const key = gatewayKey(kemId);
    for (const kib of [1, 16]) {
      const body = new Uint8Array(kib * 1024).fill(7);
      results.push(
        await measure(`OHTTP ${kemName} encapsulate request, ${kib} KiB`, () => encapsulateRequest(key.config, body)),
        await measure(`OHTTP ${kemName} encapsulate + decapsulate request, ${kib} KiB`, async () => {
          const { encapsulated } = await encapsulateRequest(key.config, body);
          await decapsulateRequest([key], encapsulated);
        }),
      );
    }
    const request = new Uint8Array(1024);
    const response = new Uint8Array(1024);
    results.push(
      await measure(`OHTTP ${kemName} whole exchange (request and response), 1 KiB each`, async () => {
        const { encapsulated, context: client } = await encapsulateRequest(key.config, request);
        const { context: server } = await decapsulateRequest([key], encapsulated);
        await client.decapsulateResponse(await server.encapsulateResponse(response));
      }),
    );
  }
  return results;
}

async function bhttp(): Promise<Result[]> {
  const request = {
    method: 'POST',
    scheme: 'https',
    authority: 'enclave',
    path: '/v1/summarize',
    headers: [
      { name: 'content-type', value: 'application/json' },
      { name: 'date', value: new Date().toUTCString() },
    ],
    content: new TextEncoder().encode(JSON.stringify({ messages: Array.from({ length: 20 }, (_, i) => ({ from: `u${i}`, text: 'hello '.repeat(5) })) })),
    trailers: [],
  };
  const encoded = padToBucket(encodeBhttpRequest(request));
  return [
    await measure(`BHTTP encode request (${request.content.length} B content) + pad`, () => padToBucket(encodeBhttpRequest(request))),
    await measure(`BHTTP decode request (${encoded.length} B padded)`, () => decodeBhttpRequest(encoded)),
  ];
}

async function merkle(): Promise<Result[]> {
  const n = 1_000_000;
  const tree = new MerkleTree();
  const buildStart = performance.now();
  for (let i = 0; i < n; i++) tree.appendLeafHash(leafHash(new TextEncoder().encode(`entry ${i}`)));
  const buildMs = performance.now() - buildStart;
  const root = tree.root();
  const index = 654_321;
  const proof = tree.inclusionProof(index);
  const leaf = tree.leafHash(index);
  const old = 777_777;
  const cproof = tree.consistencyProof(old);
  const oldRoot = tree.root(old);
  const results = [
    {
      name: `Merkle append (building 1M leaves, hashing included)`,
      ops: n,
      opsPerSecond: (n * 1000) / buildMs,
      microsPerOp: (buildMs * 1000) / n,
    },
    await measure('Merkle inclusion proof, generate (1M leaves)', () => tree.inclusionProof(index)),
    await measure(`Merkle inclusion proof, verify (1M leaves, ${proof.length} hashes)`, () => verifyInclusion(leaf, index, n, proof, root)),
    await measure('Merkle consistency proof, generate (777 777 → 1M)', () => tree.consistencyProof(old)),
    await measure(`Merkle consistency proof, verify (${cproof.length} hashes)`, () => verifyConsistency(old, n, cproof, oldRoot, root)),
  ];
  const log = generateNoteKey('bench.log');
  const note = signCheckpoint({ origin: 'bench.log', size: n, rootHash: root, extensions: [] }, [parseSignerKey(log.signerKey)]);
  const verifier = parseVerifierKey(log.verifierKey);
  results.push(await measure('checkpoint verify (Ed25519 signed note)', () => verifyCheckpoint(note, { origin: 'bench.log', verifiers: [verifier] })));
  return results;
}

export async function protocolBenchmarks(): Promise<void> {
  printTable('Native floor', await ecdhFloor());
  printTable('OHTTP (RFC 9458) over HPKE', await ohttp());
  printTable('Binary HTTP (RFC 9292)', await bhttp());
  printTable('Transparency-log proofs', await merkle());
}
