import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as api from '../../protocol';

const PROTOCOL = join(__dirname, '..', '..', 'protocol');

describe('protocol/index.ts', () => {
  test('exports the names the other parts are built against', () => {
    for (const name of [
      'encodeKeyConfig',
      'decodeKeyConfig',
      'encodeKeyConfigList',
      'decodeKeyConfigList',
      'encapsulateRequest',
      'decapsulateRequest',
      'encodeBhttpRequest',
      'decodeBhttpRequest',
      'encodeBhttpResponse',
      'decodeBhttpResponse',
      'padToBucket',
      'verifyInclusion',
      'verifyConsistency',
      'merkleRoot',
      'inclusionProof',
      'consistencyProof',
      'parseCheckpoint',
      'verifyCheckpoint',
    ]) {
      expect(typeof (api as Record<string, unknown>)[name]).toBe('function');
    }
  });

  test('protocol/ imports only npm packages, node built-ins and itself', () => {
    const offending: string[] = [];
    for (const file of readdirSync(PROTOCOL).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(join(PROTOCOL, file), 'utf8');
      for (const match of source.matchAll(/from '([^']+)'/g)) {
        const spec = match[1]!;
        if (spec.startsWith('..')) offending.push(`${file}: ${spec}`);
      }
    }
    expect(offending).toEqual([]);
  });
});
