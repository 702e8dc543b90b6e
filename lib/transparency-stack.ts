// TransparencyStack: where the transparency log is published, and the auditor's copy of
// the account's key events.
//
// - The log's files (checkpoint, tiles, entry bundles) live in one S3 bucket that only the
//   log-writer role writes, served read-only through CloudFront with origin access control
//   (this distribution's URL is the `logUrl` the relay forwards `/log/*` to). Object Lock
//   in compliance mode keeps every version of every object for the retention period, so a
//   published checkpoint or tile cannot be deleted or overwritten in place, even by the
//   account's root. That is retention, not the log's integrity: the append-only property
//   comes from the log writer's rules and from witnesses that cosign only consistent
//   checkpoints, which clients check (docs/transparency-log.md).
// - The log's signing key: a Secrets Manager secret created empty (its value is set out of
//   band, docs/infrastructure.md), readable only by the log-writer role.
// - A CloudTrail trail delivering the account's management events (every KMS call on the
//   session and model keys among them) and every write to the log and release buckets to a
//   bucket an auditor controls in another account.
import { CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { DeploymentConfig } from './deployment-config';
import { arn, AUDIT_TRAIL_NAME, bucketNames, EXPORT_NAMES, ROLE_NAMES, SECRET_NAMES } from './names';
import { noClientDataResponseHeaders } from './response-headers';

export interface TransparencyStackProps extends StackProps {
  readonly config: DeploymentConfig;
}

/** Object writes and deletions: only the log writer may make the first, nobody the second. */
export const LOG_WRITE_ACTIONS = ['s3:PutObject', 's3:PutObjectRetention', 's3:PutObjectLegalHold', 's3:PutObjectAcl', 's3:PutObjectVersionAcl'] as const;
export const LOG_DELETE_ACTIONS = ['s3:DeleteObject', 's3:DeleteObjectVersion', 's3:BypassGovernanceRetention'] as const;

export class TransparencyStack extends Stack {
  readonly logBucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  readonly logSigningKey: secretsmanager.CfnSecret;
  readonly trail: cloudtrail.CfnTrail;

  constructor(scope: Construct, id: string, props: TransparencyStackProps) {
    const { config } = props;
    const { account, region, transparency } = config;
    super(scope, id, {
      ...props,
      env: { account, region },
      description: 'Private Processing: the transparency log bucket and its distribution, the log signing key, the auditor trail',
      terminationProtection: true,
    });
    const logWriterRole = arn.role(account, region, ROLE_NAMES.logWriter);
    const buckets = bucketNames(account, region);

    this.logBucket = new s3.Bucket(this, 'LogBucket', {
      bucketName: buckets.log,
      // Compliance mode: no principal (root included) can shorten retention or delete a version before it expires.
      objectLockDefaultRetention: s3.ObjectLockRetention.compliance(Duration.days(transparency.objectLockRetentionDays)),
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // SSE-S3: the log is public; a customer-managed key would need a key policy for CloudFront, outside the frozen-key model.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        // Old versions of the checkpoint (rewritten hourly) go once their lock has expired.
        { id: 'ExpireUnlockedOldVersions', noncurrentVersionExpiration: Duration.days(transparency.objectLockRetentionDays + 1), abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });
    // Only the log writer writes; nobody deletes (a delete marker could hide the checkpoint).
    this.logBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OnlyTheLogWriterWrites',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: [...LOG_WRITE_ACTIONS],
        resources: [this.logBucket.arnForObjects('*')],
        conditions: { StringNotEquals: { 'aws:PrincipalArn': logWriterRole } },
      }),
    );
    this.logBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'NobodyDeletes',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: [...LOG_DELETE_ACTIONS],
        resources: [this.logBucket.arnForObjects('*')],
      }),
    );
    Validations.of(this.logBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'No server access logs: reads arrive only through CloudFront (origin access control) from the relay and witnesses, and would add a request log for nothing; ' +
        'every write (the log writer only) is a CloudTrail data event delivered to the auditor, and the log itself is the record of what was written',
    });

    // Read-only, through CloudFront: GET and HEAD, HTTPS only, the origin's Cache-Control
    // (the checkpoint 10 s, immutable tiles a year), no logs, no client data added.
    this.distribution = new cloudfront.Distribution(this, 'LogDistribution', {
      comment: 'Private Processing transparency log (read only)',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.logBucket, { originAccessLevels: [cloudfront.AccessLevel.READ] }),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachedMethods: cloudfront.CachedMethods.CACHE_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: noClientDataResponseHeaders(this, 'LogResponseHeaders', 'pp-transparency-log'),
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      enableLogging: false,
      enableIpv6: true,
    });
    this.distribution.applyRemovalPolicy(RemovalPolicy.RETAIN);
    Validations.of(this.distribution).acknowledge(
      { id: 'AwsSolutions-CFR1', reason: 'The log is public and read worldwide by clients (through relays) and witnesses: no geographic restriction' },
      { id: 'AwsSolutions-CFR2', reason: 'Static, public, signed objects read through CloudFront\'s cache; WAF would log and sample requests with client addresses, which this system keeps out of every log' },
      { id: 'AwsSolutions-CFR3', reason: 'No standard or real-time access logs: they would record client addresses; the log\'s contents are public and its writes are recorded by CloudTrail' },
      {
        id: 'AwsSolutions-CFR4',
        reason:
          'The default *.cloudfront.net certificate, whose policy CloudFront fixes (TLS 1.2+ needs a custom domain and certificate): the log is public and every byte is verified by clients against signed, witness-cosigned checkpoints, so TLS protects no secret here; the relay fetches it with TLS 1.3',
      },
    );

    // The log's note signing key: created empty (no value in the template, none generated),
    // set out of band by whoever holds the key; only the log writer may read it.
    this.logSigningKey = new secretsmanager.CfnSecret(this, 'LogSigningKey', {
      name: SECRET_NAMES.logSigningKey,
      description: 'Transparency log signing key (C2SP signed-note PRIVATE+KEY+…), set out of band; readable only by pp-log-writer',
    });
    this.logSigningKey.applyRemovalPolicy(RemovalPolicy.RETAIN);
    new secretsmanager.CfnResourcePolicy(this, 'LogSigningKeyPolicy', {
      secretId: this.logSigningKey.ref,
      blockPublicPolicy: true,
      resourcePolicy: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'OnlyTheLogWriterReads',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: ['secretsmanager:GetSecretValue'],
            Resource: '*',
            Condition: { StringNotEquals: { 'aws:PrincipalArn': logWriterRole } },
          },
        ],
      },
    }).applyRemovalPolicy(RemovalPolicy.RETAIN);
    Validations.of(this.logSigningKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The log signing key is the log\'s identity, pinned in every client and witness: it is not rotated by Secrets Manager (a new key is a new log); its value never passes through CloudFormation',
    });

    // The auditor's trail: all management events (KMS's DeriveSharedSecret, Decrypt,
    // GetKeyPolicy, ScheduleKeyDeletion… on every key are management events; a trail can only
    // exclude, not select, KMS by event source) and object writes to the log and release buckets.
    const auditBucket = /^arn:[^:]+:s3:::(.+)$/.exec(transparency.auditTrailBucketArn)![1]!;
    this.trail = new cloudtrail.CfnTrail(this, 'AuditTrail', {
      trailName: AUDIT_TRAIL_NAME,
      s3BucketName: auditBucket,
      s3KeyPrefix: transparency.auditTrailPrefix,
      isLogging: true,
      isMultiRegionTrail: true,
      includeGlobalServiceEvents: true,
      enableLogFileValidation: true,
      advancedEventSelectors: [
        { name: 'Management events, KMS included', fieldSelectors: [{ field: 'eventCategory', equalTo: ['Management'] }] },
        {
          name: 'Writes to the transparency log and release buckets',
          fieldSelectors: [
            { field: 'eventCategory', equalTo: ['Data'] },
            { field: 'resources.type', equalTo: ['AWS::S3::Object'] },
            { field: 'readOnly', equalTo: ['false'] },
            { field: 'resources.ARN', startsWith: [`${arn.bucket(region, buckets.log)}/`, `${arn.bucket(region, buckets.releases)}/`] },
          ],
        },
      ],
    });
    this.trail.applyRemovalPolicy(RemovalPolicy.RETAIN);

    new CfnOutput(this, 'LogUrl', { value: `https://${this.distribution.distributionDomainName}`, description: 'relay.logUrl in the deployment config' });
    new CfnOutput(this, 'LogBucketName', { value: this.logBucket.bucketName });
    new CfnOutput(this, 'AuditTrailArn', { value: arn.trail(account, region, AUDIT_TRAIL_NAME), description: 'the auditor\'s bucket policy admits CloudTrail for this trail only (aws:SourceArn)' });
    new CfnOutput(this, 'LogSigningKeySecretArn', { value: this.logSigningKey.ref, exportName: EXPORT_NAMES.logSigningKeySecretArn });
  }
}
