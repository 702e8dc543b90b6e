// Timeouts nest from the inside out (DESIGN.md §5b), so each layer gives up after the one
// inside it and a slow answer surfaces as that layer's own error, never as a retry or a
// duplicate downstream:
//
//   enclave deadline (largest bucket, 18 s; enclave-app/server/deadlines.ts)
//   < gateway → worker (25 s; lambdas/gateway/gateway.ts)
//   < gateway Lambda (28 s)
//   < API Gateway HTTP API integration (29 s: DESIGN.md's "30 s" is the service's
//     maximum, and CDK accepts up to 29 s)
//   < relay → gateway fetch (30 s; lambdas/relay/relay.ts)
//   < relay Lambda (40 s)
//   < CloudFront origin read (60 s, CloudFront's default maximum)
//
// test/cdk/timeouts.test.ts checks the chain against the runtime constants and the
// synthesized templates.
export const TIMEOUT_SECONDS = Object.freeze({
  /** What the runtime code waits (literals here; lib/ does not import runtime code). */
  enclaveLargestDeadline: 18,
  gatewayToWorker: 25,
  gatewayLambda: 28,
  apiGatewayIntegration: 29,
  relayToGateway: 30,
  relayLambda: 40,
  cloudFrontOriginRead: 60,
  /** Off the request path. */
  issuerLambda: 10,
  /** Behind the same 29 s integration (appends), and run hourly (witness cosignatures, 5 s each). */
  logWriterLambda: 28,
  /** Hourly: reads the log, generates an RSA key, appends through the log writer's API (≤ 30 s). */
  rotationLambda: 90,
});
