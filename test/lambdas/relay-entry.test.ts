// The relay's Lambda entry refuses to load without its URLs, and serves through the event shape with them.
describe('relay Lambda entry', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
    jest.resetModules();
  });

  test('without PP_GATEWAY_URL or PP_LOG_URL the module fails to load', () => {
    delete process.env.PP_GATEWAY_URL;
    process.env.PP_LOG_URL = 'https://log.example';
    expect(() => jest.isolateModules(() => require('../../lambdas/relay/index'))).toThrow('gatewayUrl is required');
    process.env.PP_GATEWAY_URL = 'https://gateway.example';
    delete process.env.PP_LOG_URL;
    expect(() => jest.isolateModules(() => require('../../lambdas/relay/index'))).toThrow('logUrl is required');
  });

  test('with them, it answers API Gateway events and refuses what it does not forward', async () => {
    process.env.PP_GATEWAY_URL = 'https://gateway.example';
    process.env.PP_LOG_URL = 'https://log.example';
    let handler!: (e: unknown) => Promise<{ statusCode: number; body: string; headers: Record<string, string> }>;
    jest.isolateModules(() => {
      handler = require('../../lambdas/relay/index').handler;
    });
    const result = await handler({ requestContext: { http: { method: 'GET', path: '/v1/ohttp' } }, headers: { 'X-Forwarded-For': '203.0.113.9' } });
    expect(result.statusCode).toBe(405);
    expect(JSON.parse(Buffer.from(result.body, 'base64').toString())).toEqual({ error: 'METHOD_NOT_ALLOWED' });
    expect(JSON.stringify(result)).not.toContain('203.0.113.9');
  });
});
