// How every Lambda entry is built: a `NodejsFunction` bundling the handler by path with
// the local esbuild (a devDependency, so no Docker), as ESM (a CommonJS bundle breaks:
// blindrsa-ts's bundled sjcl overwrites module.exports), on Node 22+ for arm64. CommonJS
// dependencies that `require()` Node's built-ins get a real `require` from a banner made
// with createRequire, imported under a name of its own so it cannot clash with the bundle's.
// The AWS SDK is bundled at the versions the lockfile pins (not the runtime's copy);
// @cloud-copilot/iam-simulate (the local KMS emulator's, ~15 MB of JSON) and the optional
// native cbor-extract stay out.
import { join } from 'node:path';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';

export const REPO_ROOT = join(__dirname, '..');
/**
 * Lambda's runtime for every function: the newest Node.js runtime (cdk-nag's L1). DESIGN.md
 * §8 asks for nodejs22.x or later (20.x is deprecated); the bundle targets Node 22 syntax,
 * which the tests also import under the local Node 20.19+.
 */
export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_24_X;
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __cjsCreateRequire } from 'node:module'; const __cjsRequire = __cjsCreateRequire(import.meta.url); const require = __cjsRequire;";
/** Never in a Lambda bundle. */
export const BUNDLE_EXTERNALS = ['@cloud-copilot/iam-simulate', 'cbor-extract'] as const;

/** The entry a function bundles: `lambdas/<folder>/index.ts` (never imported by lib/). */
export const lambdaEntry = (folder: 'gateway' | 'issuer' | 'issuer-rotation' | 'log-writer' | 'relay') => join(REPO_ROOT, 'lambdas', folder, 'index.ts');

export const BUNDLING: nodejs.BundlingOptions = {
  format: nodejs.OutputFormat.ESM,
  target: 'node22',
  platform: 'node',
  mainFields: ['module', 'main'],
  banner: ESM_REQUIRE_BANNER,
  externalModules: [...BUNDLE_EXTERNALS],
  minify: true,
  keepNames: true,
  sourceMap: false,
  // No build-time environment or definitions: the handler reads its settings at start.
};

/** Settings every function shares: arm64, no X-Ray, the bundle above. */
export function functionDefaults(entry: string): Pick<nodejs.NodejsFunctionProps, 'entry' | 'handler' | 'runtime' | 'architecture' | 'tracing' | 'bundling' | 'depsLockFilePath' | 'projectRoot'> {
  return {
    entry,
    handler: 'handler',
    runtime: LAMBDA_RUNTIME,
    architecture: lambda.Architecture.ARM_64,
    tracing: lambda.Tracing.DISABLED,
    bundling: BUNDLING,
    depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
    projectRoot: REPO_ROOT,
  };
}
