// `npm start`: runs the whole local stack end to end and prints what each party saw.
// Until every part exists it says what is missing and exits non-zero: it never
// fakes a run.

const BUILT = ['protocol core: OHTTP (RFC 9458), Binary HTTP (RFC 9292), padding, Merkle proofs, signed checkpoints'];
const MISSING = [
  'Nitro attestation verifier and the local NSM attestation emulator (issue #4)',
  'shared formats and key policies (issue #5)',
  'KMS emulator and the enclave KMS client (issue #6)',
  'transparency log, witnesses and log sync (issue #7)',
  'enclave server and parent proxy (issue #8)',
  'Privacy Pass issuer and token checks (issue #9)',
  'relay and gateway (issue #10)',
  'client SDK (issue #11)',
  'the process wiring of `npm start` and the ppx CLI (issue #13)',
];

process.stdout.write(
  [
    'Private Processing: the local stack cannot run end to end yet.',
    '',
    'Built:',
    ...BUILT.map((b) => `  - ${b}`),
    '',
    'Still missing:',
    ...MISSING.map((m) => `  - ${m}`),
    '',
    'Run `npm test` for what exists; docs/STATUS.md tracks progress.',
    '',
  ].join('\n'),
);
process.exitCode = 1;
