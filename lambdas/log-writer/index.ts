// The log writer's Lambda entry (GatewayStack bundles it by path). Fails at start if a setting is missing.
import { createLogWriterHandler, logWriterConfigFromEnv } from './entry';

export const handler = createLogWriterHandler(logWriterConfigFromEnv(process.env));
