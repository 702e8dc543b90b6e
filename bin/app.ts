// The CDK app (`npx cdk synth`, run through cdk.json). Builds the stacks from the
// deployment config, synthesizes, then refuses the result if any key differs from its
// frozen definition or from the committed released-keys record.
import { App } from 'aws-cdk-lib';
import { ProtocolError } from '../protocol';
import { buildApp, verifyAssembly } from './build-app';

try {
  const app = new App();
  const built = buildApp(app);
  verifyAssembly(app.synth(), built);
} catch (err) {
  if (err instanceof ProtocolError) {
    // A refusal of ours: its code and fixed message, no stack trace.
    process.stderr.write(`cdk app refused: ${err.code}: ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
