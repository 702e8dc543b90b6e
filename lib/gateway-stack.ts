// GatewayStack: the operator's public face behind the relay, and the log writer.
//
// One HTTP API (`pp-api`) routes to four Lambda functions, each bundled by path from
// lambdas/ and running as its fixed-name role from the FoundationStack:
//
//   POST /v1/ohttp, GET /v1/keys                         gateway (in the isolated VPC)
//   GET|HEAD /.well-known/private-token-issuer-directory,
//   POST /v1/token-request                              issuer
//   POST /v1/entries (AWS_IAM authorization)             log writer
//
// plus issuer rotation, run hourly by EventBridge like the log writer's cosignature
// refresh. The gateway and issuer routes carry no IAM authorization on purpose: the relay
// is a third party, and each request is authorized by its Privacy Pass token (gateway) or
// account credential (issuer) in the handler. The log writer's route takes the caller's
// IAM identity, which its handler maps to a submitter (publisher or rotation role).
//
// Only the gateway runs in the VPC (it reaches the workers); the log writer and rotation
// need the internet (witnesses; the API's own URL), and the issuer needs nothing private.
// State: the spent-token and issuance-count tables and the issuer-key secret, all retained.
import { CfnOutput, Duration, Fn, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { DeploymentConfig } from './deployment-config';
import { liveWorkerGroups } from './enclave-worker-stack';
import { functionDefaults, lambdaEntry } from './lambda-bundle';
import {
  API_ACCESS_LOG_GROUP_NAME,
  arn,
  bucketNames,
  EXPORT_NAMES,
  FUNCTION_NAMES,
  HTTP_API_NAME,
  NO_WORKER_GROUP,
  ROLE_NAMES,
  SCHEDULE_NAMES,
  SECRET_NAMES,
  TABLE_NAMES,
} from './names';
import { TIMEOUT_SECONDS } from './timeouts';

export interface GatewayStackProps extends StackProps {
  readonly config: DeploymentConfig;
}

/**
 * The API's access log: when, which route, what status and how long, nothing else. No
 * source address, user agent, path (unmatched paths could carry anything), headers,
 * query, body, token or caller identity.
 */
export const ACCESS_LOG_FIELDS = Object.freeze({
  requestId: '$context.requestId',
  requestTime: '$context.requestTimeEpoch',
  routeKey: '$context.routeKey',
  status: '$context.status',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
  integrationLatency: '$context.integrationLatency',
  errorType: '$context.error.responseType',
});

/** The log writer's one route: appends are rare (releases, keys), so a tight limit. */
export const LOG_WRITER_ROUTE = 'POST /v1/entries';
export const LOG_WRITER_ROUTE_THROTTLE = Object.freeze({ rateLimit: 1, burstLimit: 5 });

export class GatewayStack extends Stack {
  readonly api: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly gateway: nodejs.NodejsFunction;
  readonly issuer: nodejs.NodejsFunction;
  readonly logWriter: nodejs.NodejsFunction;
  readonly rotation: nodejs.NodejsFunction;
  readonly spentTokens: dynamodb.Table;
  readonly issuanceCounts: dynamodb.Table;
  readonly issuerKeys: secretsmanager.CfnSecret;

  constructor(scope: Construct, id: string, props: GatewayStackProps) {
    const { config } = props;
    const { account, region, gateway: settings, transparency, network } = config;
    super(scope, id, {
      ...props,
      env: { account, region },
      description: 'Private Processing: the HTTP API, the gateway, issuer, issuer-rotation and log-writer functions, their tables and the issuer-key secret',
      terminationProtection: true,
    });
    const buckets = bucketNames(account, region);
    const roleArn = (name: string) => arn.role(account, region, name);

    // --- State, retained whatever happens to the stack.
    const table = (id: string, tableName: string) =>
      new dynamodb.Table(this, id, {
        tableName,
        partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
        timeToLiveAttribute: 'expiresAt',
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        encryption: dynamodb.TableEncryption.AWS_MANAGED,
        deletionProtection: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });
    // A spent token must stay spent: losing this table would let every token be redeemed again.
    this.spentTokens = table('SpentTokens', TABLE_NAMES.spentTokens);
    this.issuanceCounts = table('IssuanceCounts', TABLE_NAMES.issuanceCounts);

    // The issuer's keys: created empty (the issuer then holds none and refuses to issue);
    // rotation generates each key, logs it, then stores it here.
    this.issuerKeys = new secretsmanager.CfnSecret(this, 'IssuerKeys', {
      name: SECRET_NAMES.issuerKeys,
      description: 'Privacy Pass issuer keys (RSA), written by pp-issuer-rotation after logging each, read by pp-issuer',
    });
    this.issuerKeys.applyRemovalPolicy(RemovalPolicy.RETAIN);
    new secretsmanager.CfnResourcePolicy(this, 'IssuerKeysPolicy', {
      secretId: this.issuerKeys.ref,
      blockPublicPolicy: true,
      resourcePolicy: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'OnlyIssuerAndRotationRead',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: ['secretsmanager:GetSecretValue'],
            Resource: '*',
            Condition: { StringNotEquals: { 'aws:PrincipalArn': [roleArn(ROLE_NAMES.issuer), roleArn(ROLE_NAMES.rotation)] } },
          },
          {
            Sid: 'OnlyRotationWrites',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: ['secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecret'],
            Resource: '*',
            Condition: { StringNotEquals: { 'aws:PrincipalArn': roleArn(ROLE_NAMES.rotation) } },
          },
        ],
      },
    }).applyRemovalPolicy(RemovalPolicy.RETAIN);
    Validations.of(this.issuerKeys).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Issuer keys rotate through pp-issuer-rotation (hourly check), which logs each new key in the transparency log before storing it; Secrets Manager rotation would bypass the log',
    });

    // --- Functions: fixed names, the foundation's roles (immutable here: CDK adds no policy), own log groups.
    const functionOf = (
      id: string,
      name: string,
      folder: Parameters<typeof lambdaEntry>[0],
      options: { role: string; description: string; timeout: number; memorySize: number; reservedConcurrency: number; environment: Record<string, string> },
    ) => {
      const logGroup = new logs.LogGroup(this, `${id}Logs`, {
        logGroupName: `/aws/lambda/${name}`,
        retention: settings.logRetentionDays as logs.RetentionDays,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      return new nodejs.NodejsFunction(this, id, {
        ...functionDefaults(lambdaEntry(folder)),
        functionName: name,
        description: options.description,
        role: iam.Role.fromRoleArn(this, `${id}Role`, roleArn(options.role), { mutable: false }),
        timeout: Duration.seconds(options.timeout),
        memorySize: options.memorySize,
        reservedConcurrentExecutions: options.reservedConcurrency,
        environment: options.environment,
        logGroup,
      });
    };

    const workerGroups = liveWorkerGroups(config).map((g) => g.name);
    this.gateway = functionOf('Gateway', FUNCTION_NAMES.gateway, 'gateway', {
      role: ROLE_NAMES.gateway,
      description: 'Privacy Pass redemption, spend once, forward ciphertext to a random healthy worker of the key\'s release; key bundles',
      timeout: TIMEOUT_SECONDS.gatewayLambda,
      memorySize: 1024,
      reservedConcurrency: settings.reservedConcurrency.gateway,
      environment: {
        PP_ISSUER_NAME: settings.issuerName,
        PP_ORIGIN_NAME: settings.originName,
        PP_SPEND_TABLE: TABLE_NAMES.spentTokens,
        PP_LOG_BUCKET: buckets.log,
        PP_LOG_ORIGIN: transparency.logOrigin,
        PP_LOG_KEY: transparency.logVerifierKey,
        // One group per live session-key generation; with none live, a name no group has (503).
        PP_WORKER_GROUP: workerGroups.length > 0 ? workerGroups.join(',') : NO_WORKER_GROUP,
        PP_WORKER_PORT: String(network.workerPort),
      },
    });
    // In the isolated VPC (subnets and security group from the NetworkStack's named exports):
    // out to the workers, DynamoDB, S3 and the EC2 endpoint only.
    (this.gateway.node.defaultChild as lambda.CfnFunction).vpcConfig = {
      subnetIds: Fn.split(',', Fn.importValue(EXPORT_NAMES.isolatedSubnetIds), config.availabilityZones.length),
      securityGroupIds: [Fn.importValue(EXPORT_NAMES.gatewaySecurityGroupId)],
    };

    this.issuer = functionOf('Issuer', FUNCTION_NAMES.issuer, 'issuer', {
      role: ROLE_NAMES.issuer,
      description: 'Privacy Pass issuer: checks the account credential and daily quota, blind-signs token requests',
      timeout: TIMEOUT_SECONDS.issuerLambda,
      memorySize: 512,
      reservedConcurrency: settings.reservedConcurrency.issuer,
      environment: {
        PP_ISSUER_KEYS_SECRET: this.issuerKeys.ref,
        PP_QUOTA_TABLE: TABLE_NAMES.issuanceCounts,
        PP_TOKENS_PER_DAY: String(settings.tokensPerDay),
        PP_REQUEST_URI: settings.tokenRequestUri,
        PP_ACCOUNT_JWK: JSON.stringify(settings.accountKey),
        PP_ACCOUNT_ISSUER: settings.accountIssuer,
        PP_ACCOUNT_AUDIENCE: settings.accountAudience,
      },
    });

    this.logWriter = functionOf('LogWriter', FUNCTION_NAMES.logWriter, 'log-writer', {
      role: ROLE_NAMES.logWriter,
      description: 'The only writer of the transparency log: validated appends from the publisher and rotation roles; hourly cosignature refresh',
      timeout: TIMEOUT_SECONDS.logWriterLambda,
      memorySize: 512,
      // The log has one writer at a time.
      reservedConcurrency: 1,
      environment: {
        PP_LOG_BUCKET: buckets.log,
        PP_LOG_ORIGIN: transparency.logOrigin,
        PP_LOG_SIGNER_SECRET: Fn.importValue(EXPORT_NAMES.logSigningKeySecretArn),
        PP_WITNESSES: JSON.stringify(transparency.witnesses.map((w) => ({ url: w.url, verifierKey: w.verifierKey }))),
        PP_ACCOUNT: account,
        PP_PUBLISHER_ROLE: ROLE_NAMES.publisher,
        PP_ROTATION_ROLE: ROLE_NAMES.rotation,
      },
    });

    // --- The API: default stage only, throttled, allowlisted access log, no X-Ray (HTTP APIs have none).
    this.api = new apigwv2.HttpApi(this, 'Api', {
      apiName: HTTP_API_NAME,
      description: 'Private Processing: gateway (behind the relay), issuer, log writer (IAM)',
      createDefaultStage: false,
    });
    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', {
      logGroupName: API_ACCESS_LOG_GROUP_NAME,
      retention: settings.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: settings.throttle.rateLimit, burstLimit: settings.throttle.burstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: apigw.AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    (this.stage.node.defaultChild as apigwv2.CfnStage).routeSettings = {
      // A JSON property of the L1: CloudFormation's own casing.
      [LOG_WRITER_ROUTE]: { ThrottlingRateLimit: LOG_WRITER_ROUTE_THROTTLE.rateLimit, ThrottlingBurstLimit: LOG_WRITER_ROUTE_THROTTLE.burstLimit },
    };

    // Each integration's invoke permission names its route (aws:SourceArn), so no other API or route can call the function.
    const integration = (id: string, fn: lambda.IFunction) =>
      new HttpLambdaIntegration(id, fn, { payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0, timeout: Duration.seconds(TIMEOUT_SECONDS.apiGatewayIntegration), scopePermissionToRoute: true });
    const gatewayIntegration = integration('GatewayIntegration', this.gateway);
    const issuerIntegration = integration('IssuerIntegration', this.issuer);
    this.api.addRoutes({ path: '/v1/ohttp', methods: [apigwv2.HttpMethod.POST], integration: gatewayIntegration });
    this.api.addRoutes({ path: '/v1/keys', methods: [apigwv2.HttpMethod.GET], integration: gatewayIntegration });
    this.api.addRoutes({ path: '/.well-known/private-token-issuer-directory', methods: [apigwv2.HttpMethod.GET, apigwv2.HttpMethod.HEAD], integration: issuerIntegration });
    this.api.addRoutes({ path: '/v1/token-request', methods: [apigwv2.HttpMethod.POST], integration: issuerIntegration });
    this.api.addRoutes({ path: '/v1/entries', methods: [apigwv2.HttpMethod.POST], integration: integration('LogWriterIntegration', this.logWriter), authorizer: new HttpIamAuthorizer() });
    for (const route of this.api.node.findAll().filter((c): c is apigwv2.CfnRoute => c instanceof apigwv2.CfnRoute)) {
      if (route.routeKey !== LOG_WRITER_ROUTE) {
        Validations.of(route).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            'Authorized in the handler, not by API Gateway: the gateway\'s routes by the Privacy Pass token (the relay is a third party and clients are anonymous), the issuer\'s by the account credential (JWT); the log writer\'s route uses AWS_IAM',
        });
      }
    }

    this.rotation = functionOf('Rotation', FUNCTION_NAMES.rotation, 'issuer-rotation', {
      role: ROLE_NAMES.rotation,
      description: 'Issuer-key rotation: generates a key, appends it to the log through the log writer, then stores it',
      timeout: TIMEOUT_SECONDS.rotationLambda,
      memorySize: 512,
      reservedConcurrency: 1,
      environment: {
        PP_ISSUER_KEYS_SECRET: this.issuerKeys.ref,
        PP_LOG_BUCKET: buckets.log,
        PP_LOG_ORIGIN: transparency.logOrigin,
        PP_LOG_KEY: transparency.logVerifierKey,
        PP_LOG_WRITER_URL: `${this.api.apiEndpoint}/v1/entries`,
      },
    });

    // Hourly: the log writer re-collects cosignatures (its handler takes EventBridge's
    // `source: aws.events` event), rotation checks whether a new issuer key is due. The
    // target's invoke permission names the rule (aws:SourceArn).
    const hourly = (id: string, ruleName: string, fn: lambda.IFunction, description: string) =>
      new events.Rule(this, id, {
        ruleName,
        description,
        schedule: events.Schedule.rate(Duration.hours(1)),
        targets: [new targets.LambdaFunction(fn, { retryAttempts: 2, maxEventAge: Duration.hours(1) })],
      });
    hourly('LogWriterSchedule', SCHEDULE_NAMES.logWriter, this.logWriter, 'Hourly: the log writer re-collects witness cosignatures so the newest stays young');
    hourly('RotationSchedule', SCHEDULE_NAMES.rotation, this.rotation, 'Hourly: issuer-key rotation checks whether a new key is due');


    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint, description: 'relay.gatewayUrl in the deployment config (or a custom domain in front of it)' });
    new CfnOutput(this, 'LogWriterUrl', { value: `${this.api.apiEndpoint}/v1/entries`, description: 'npm run release -- publish --log-writer <this>' });
  }
}
