// Jest compiles TypeScript (and the ESM-only dependencies) to CommonJS with swc.
// Only the packages listed in ESM_ONLY are transformed inside node_modules.
const ESM_ONLY = ['hpke', 'jose', '@cloudflare/privacypass-ts', '@cloudflare/blindrsa-ts', 'rfc4648'];

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  setupFiles: ['<rootDir>/test/setup.ts'],
  transform: {
    '^.+\\.(t|j|mj)s$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'commonjs' },
      },
    ],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
};
