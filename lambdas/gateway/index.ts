// The gateway's Lambda entry (GatewayStack bundles it by path). Fails at start if a setting is missing.
import { createGatewayHandler, gatewayConfigFromEnv } from './entry';

export const handler = createGatewayHandler(gatewayConfigFromEnv(process.env));
