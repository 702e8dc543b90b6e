// RelayStack: the reference OHTTP relay for the independent party that runs it, deployed
// in that party's own account and region (deployment config `relay`), by that party, with
// its own credentials: nothing here refers to our account, our roles or our deployer, and
// the stack depends on no other. The gateway and log URLs are plain strings it is given.
//
// CloudFront (the relay's domain, TLS 1.2+, HTTPS only) in front of the relay Lambda's
// Function URL. The URL uses AWS_IAM auth and CloudFront signs each origin request with
// origin access control, so the function is reachable only through this distribution
// (the invoke permissions name it in aws:SourceArn). For a POST that signature covers the
// body, so clients send `x-amz-content-sha256` (hex SHA-256 of the ciphertext, which
// reveals nothing more; docs/gateway-relay.md).
//
// What passes: to the origin only `Private-Token`, `Content-Type` and
// `x-amz-content-sha256` on POST, and nothing on GET (the relay then rebuilds every
// request to the gateway from scratch); back to the client only what the relay returns
// plus security headers. POST is never cached; GET /v1/keys and /log/* follow the
// origin's Cache-Control, with no client data in the cache key, so every client in a
// window gets the same bytes. No access logs of any kind, and the function logs counters
// only (never a request, header or address).
import { CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { RelayConfig } from './deployment-config';
import { functionDefaults, lambdaEntry } from './lambda-bundle';
import { RELAY_FUNCTION_NAME } from './names';
import { noClientDataResponseHeaders } from './response-headers';
import { TIMEOUT_SECONDS } from './timeouts';

export interface RelayStackProps extends StackProps {
  /** The relay operator's settings (account, region, domain, certificate, concurrency, log retention). */
  readonly relay: RelayConfig;
  /** The gateway's base URL (required: the relay refuses to start without it). */
  readonly gatewayUrl: string;
  /** The transparency log's base URL (required). */
  readonly logUrl: string;
}

/** The only viewer headers that reach the relay function, on POST. */
export const RELAY_FORWARDED_HEADERS = ['Private-Token', 'Content-Type', 'x-amz-content-sha256'] as const;

export class RelayStack extends Stack {
  readonly function: nodejs.NodejsFunction;
  readonly functionUrl: lambda.FunctionUrl;
  readonly distribution: cloudfront.Distribution;

  constructor(scope: Construct, id: string, props: RelayStackProps) {
    const { relay } = props;
    super(scope, id, {
      ...props,
      env: { account: relay.account, region: relay.region },
      description: 'OHTTP relay (reference for the independent relay operator): CloudFront in front of a Lambda Function URL, no logs of requests',
      terminationProtection: true,
    });
    if (!props.gatewayUrl || !props.logUrl) throw new Error('RelayStack: gatewayUrl and logUrl are required');

    // The function's own role in the relay's account: write its own log group, nothing else.
    const logGroup = new logs.LogGroup(this, 'RelayLogs', {
      logGroupName: `/aws/lambda/${RELAY_FUNCTION_NAME}`,
      retention: relay.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const role = new iam.Role(this, 'RelayRole', {
      roleName: RELAY_FUNCTION_NAME,
      description: 'OHTTP relay Lambda: writes its own (counters-only) log, nothing else',
      assumedBy: new iam.PrincipalWithConditions(new iam.ServicePrincipal('lambda.amazonaws.com'), { StringEquals: { 'aws:SourceAccount': relay.account } }),
    });
    role.addToPolicy(new iam.PolicyStatement({ sid: 'WriteOwnLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [`${logGroup.logGroupArn}:log-stream:*`] }));
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(logGroup.node.defaultChild as logs.CfnLogGroup)}.Arn>:log-stream:*]`,
      reason: 'Lambda names a log stream per execution environment at run time; the wildcard covers only the streams of the relay\'s own log group',
    });

    this.function = new nodejs.NodejsFunction(this, 'Relay', {
      ...functionDefaults(lambdaEntry('relay')),
      functionName: RELAY_FUNCTION_NAME,
      description: 'OHTTP relay: forwards ciphertext and the token to the gateway, the log and key bundle to clients; keeps and logs nothing about who',
      role,
      timeout: Duration.seconds(TIMEOUT_SECONDS.relayLambda),
      memorySize: 512,
      reservedConcurrentExecutions: relay.reservedConcurrency,
      environment: { PP_GATEWAY_URL: props.gatewayUrl, PP_LOG_URL: props.logUrl },
      logGroup,
    });
    this.functionUrl = this.function.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM, invokeMode: lambda.InvokeMode.BUFFERED });

    const origin = origins.FunctionUrlOrigin.withOriginAccessControl(this.functionUrl, { readTimeout: Duration.seconds(TIMEOUT_SECONDS.cloudFrontOriginRead) });
    const responseHeadersPolicy = noClientDataResponseHeaders(this, 'ResponseHeaders', 'pp-relay');
    const forwardTokenOnly = new cloudfront.OriginRequestPolicy(this, 'ForwardTokenOnly', {
      originRequestPolicyName: 'pp-relay-forward-token-only',
      comment: 'OHTTP POST: the token, the media type and the body hash OAC needs; no cookie, query or other header',
      headerBehavior: cloudfront.OriginRequestHeaderBehavior.allowList(...RELAY_FORWARDED_HEADERS),
      cookieBehavior: cloudfront.OriginRequestCookieBehavior.none(),
      queryStringBehavior: cloudfront.OriginRequestQueryStringBehavior.none(),
    });
    const publicGets = new cloudfront.CachePolicy(this, 'PublicGets', {
      cachePolicyName: 'pp-relay-public-gets',
      comment: 'Key bundle and log tiles: the origin\'s Cache-Control decides; nothing about the client in the key',
      minTtl: Duration.seconds(0),
      defaultTtl: Duration.seconds(0),
      maxTtl: Duration.days(365),
      headerBehavior: cloudfront.CacheHeaderBehavior.none(),
      cookieBehavior: cloudfront.CacheCookieBehavior.none(),
      queryStringBehavior: cloudfront.CacheQueryStringBehavior.none(),
      enableAcceptEncodingGzip: true,
      enableAcceptEncodingBrotli: true,
    });
    const getBehavior: cloudfront.BehaviorOptions = {
      origin,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
      cachedMethods: cloudfront.CachedMethods.CACHE_GET_HEAD,
      cachePolicy: publicGets,
      responseHeadersPolicy,
    };
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Private Processing OHTTP relay',
      domainNames: [relay.domainName],
      certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', relay.certificateArn),
      minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
      sslSupportMethod: cloudfront.SSLMethod.SNI,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      enableIpv6: true,
      enableLogging: false,
      // POST /v1/ohttp (and anything else, which the relay answers 404/405): never cached.
      defaultBehavior: {
        origin,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
        cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
        originRequestPolicy: forwardTokenOnly,
        responseHeadersPolicy,
      },
      additionalBehaviors: { '/v1/keys': getBehavior, '/log/*': getBehavior },
    });
    Validations.of(this.distribution).acknowledge(
      { id: 'AwsSolutions-CFR1', reason: 'The relay serves the messenger\'s users worldwide: no geographic restriction' },
      {
        id: 'AwsSolutions-CFR2',
        reason:
          'No WAF: its logs and sampled requests keep client addresses and headers, which the relay must never record; abuse is bounded by the gateway\'s tokens (one request each), the API\'s throttle and the function\'s reserved concurrency',
      },
      { id: 'AwsSolutions-CFR3', reason: 'No standard or real-time access logs: they would record client addresses next to request times, which is what the relay exists not to keep' },
    );

    new CfnOutput(this, 'RelayUrl', { value: `https://${relay.domainName}`, description: 'what clients pin' });
    new CfnOutput(this, 'DistributionDomainName', { value: this.distribution.distributionDomainName, description: `point ${relay.domainName} here (CNAME or alias)` });
  }
}
