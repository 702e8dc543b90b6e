// The relay's Lambda entry (behind CloudFront). Its URLs are fixed at deploy time in the
// environment; without them the function fails at start, before serving anything.
import { createLogger } from '../../protocol';
import { fromApiGatewayEvent, toApiGatewayResult, type ApiGatewayV2Event, type ApiGatewayV2Result } from '../common/http';
import { Relay } from './relay';

const relay = new Relay({
  gatewayUrl: process.env.PP_GATEWAY_URL ?? '',
  logUrl: process.env.PP_LOG_URL ?? '',
  logger: createLogger('relay', (line) => process.stdout.write(`${line}\n`)),
});
let lastFlush = Date.now();

export async function handler(event: ApiGatewayV2Event): Promise<ApiGatewayV2Result> {
  const response = await relay.handle(fromApiGatewayEvent(event));
  if (Date.now() - lastFlush >= 60_000) {
    relay.flushCounts();
    lastFlush = Date.now();
  }
  return toApiGatewayResult(response);
}
