// The issuer-rotation Lambda entry (GatewayStack bundles it by path, EventBridge runs it hourly).
import { createRotationHandler, rotationConfigFromEnv } from './entry';

export const handler = createRotationHandler(rotationConfigFromEnv(process.env));
