// The issuer's Lambda entry (GatewayStack bundles it by path). Fails at start if a setting is missing.
import { createIssuerHandler, issuerConfigFromEnv } from './entry';

export const handler = createIssuerHandler(issuerConfigFromEnv(process.env));
