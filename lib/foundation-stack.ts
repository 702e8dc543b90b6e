// FoundationStack: the identities every other trust domain relies on. It is never
// replaced: every resource is retained and the stack has termination protection,
// because a frozen key policy names these roles by ARN for the key's whole life. A
// deleted role stays deleted for such a key even if re-created with the same name (KMS
// binds the policy to the role's unique id), so deleting one would orphan every key.
//
// Deployed by an account administrator (it creates the deployer role itself); every
// other stack is deployed by CloudFormation running as the deployer role, which cannot
// change anything defined here.
import { CfnOutput, CfnResource, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { FROZEN_ACTIONS, partitionOf } from '../protocol';
import type { DeploymentConfig } from './deployment-config';
import {
  API_ACCESS_LOG_GROUP_NAME,
  arn,
  AUDIT_TRAIL_NAME,
  bucketNames,
  DEPLOY_OPERATOR_POLICY_NAME,
  DEPLOYER_POLICY_NAME,
  FLOW_LOG_GROUP_NAME,
  FLOW_LOGS_ROLE_NAME,
  FUNCTION_NAMES,
  PROJECT_TAG_KEY,
  RELEASE_OBJECTS,
  ROLE_NAMES,
  SCHEDULE_NAMES,
  SECRET_NAMES,
  STACK_NAMES,
  TABLE_NAMES,
} from './names';

export interface FoundationStackProps extends StackProps {
  readonly config: DeploymentConfig;
}

/**
 * EC2 creates CloudFormation makes for the NetworkStack, each with the resource type it
 * creates: allowed only with the pp:stack=PpNetwork tag in the request, and (but CreateVpc)
 * only inside a VPC, subnets, route tables and security groups that carry it.
 */
export const DEPLOYER_NETWORK_CREATES = {
  'ec2:CreateVpc': 'vpc',
  'ec2:CreateSubnet': 'subnet',
  'ec2:CreateRouteTable': 'route-table',
  'ec2:CreateSecurityGroup': 'security-group',
  'ec2:CreateVpcEndpoint': 'vpc-endpoint',
  'ec2:CreateFlowLogs': 'vpc-flow-log',
} as const;

/** The EC2 resource types of the NetworkStack (all tagged pp:stack=PpNetwork). */
export const NETWORK_EC2_ARN_TYPES = ['vpc', 'subnet', 'route-table', 'security-group', 'vpc-endpoint', 'vpc-flow-log'] as const;

/**
 * EC2 changes and deletions CloudFormation makes for the NetworkStack: only on resources
 * tagged pp:stack=PpNetwork. No ModifyVpcEndpoint: an endpoint's policy, route tables or
 * subnets change only by an administrator (it is denied to the deployer, review 14 #3).
 */
export const DEPLOYER_NETWORK_CHANGES = [
  'ec2:DeleteVpc',
  'ec2:ModifyVpcAttribute',
  'ec2:DeleteSubnet',
  'ec2:ModifySubnetAttribute',
  'ec2:DeleteRouteTable',
  'ec2:AssociateRouteTable',
  'ec2:DisassociateRouteTable',
  'ec2:DeleteSecurityGroup',
  'ec2:AuthorizeSecurityGroupIngress',
  'ec2:AuthorizeSecurityGroupEgress',
  'ec2:RevokeSecurityGroupIngress',
  'ec2:RevokeSecurityGroupEgress',
  'ec2:UpdateSecurityGroupRuleDescriptionsIngress',
  'ec2:UpdateSecurityGroupRuleDescriptionsEgress',
  'ec2:DeleteVpcEndpoints',
  'ec2:DeleteFlowLogs',
] as const;

/** EC2 reads CloudFormation's handlers make (take no resource; bounded to the region). */
export const DEPLOYER_NETWORK_READS = [
  'ec2:DescribeAccountAttributes',
  'ec2:DescribeAvailabilityZones',
  'ec2:DescribeFlowLogs',
  'ec2:DescribeManagedPrefixLists',
  // AWS::EC2::VPC's read handler reads DefaultNetworkAcl (review 14, finding 1).
  'ec2:DescribeNetworkAcls',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribePrefixLists',
  'ec2:DescribeRouteTables',
  'ec2:DescribeSecurityGroupRules',
  'ec2:DescribeSecurityGroups',
  'ec2:DescribeSubnets',
  'ec2:DescribeTags',
  'ec2:DescribeVpcAttribute',
  'ec2:DescribeVpcEndpointServices',
  'ec2:DescribeVpcEndpoints',
  'ec2:DescribeVpcs',
] as const;

/** Every EC2 call CloudFormation makes for the NetworkStack (create, change, tag, delete, read back). */
export const DEPLOYER_NETWORK_ACTIONS = [
  ...Object.keys(DEPLOYER_NETWORK_CREATES),
  ...DEPLOYER_NETWORK_CHANGES,
  'ec2:CreateTags',
  'ec2:DeleteTags',
  ...DEPLOYER_NETWORK_READS,
] as readonly string[];

/**
 * The only services the NetworkStack makes endpoints for. EC2 joined with #15: the gateway
 * Lambda finds the workers with DescribeInstances (its endpoint policy allows nothing else).
 */
export const ENDPOINT_SERVICES = ['kms', 's3', 'dynamodb', 'ec2'] as const;

/** Anything that would give the isolated VPC a way out: denied to the deployer even if another policy allowed it. */
export const DEPLOYER_DENIED_NETWORK_ACTIONS = [
  'ec2:CreateInternetGateway',
  'ec2:AttachInternetGateway',
  'ec2:CreateEgressOnlyInternetGateway',
  'ec2:CreateNatGateway',
  'ec2:AllocateAddress',
  'ec2:AssociateAddress',
  'ec2:CreateRoute',
  'ec2:ReplaceRoute',
  'ec2:CreateVpcPeeringConnection',
  'ec2:AcceptVpcPeeringConnection',
  'ec2:CreateTransitGatewayVpcAttachment',
  'ec2:AttachVpnGateway',
  'ec2:CreateCarrierGateway',
  // An endpoint's policy, route tables and subnets are set when CloudFormation creates it;
  // changing them later (an open S3 policy would be a way out) is an administrator's job.
  'ec2:ModifyVpcEndpoint',
] as const;

/** What could widen a frozen key: denied to the deployer here as well as by every key policy. */
export const DEPLOYER_DENIED_KEY_ACTIONS = [
  ...FROZEN_ACTIONS,
  'kms:EnableKeyRotation',
  'kms:TagResource',
  'kms:UntagResource',
] as const;

/** Changes to the foundation's own identities: only an administrator deploying this stack makes them. */
export const DEPLOYER_DENIED_IAM_ACTIONS = [
  'iam:CreateRole',
  'iam:DeleteRole',
  'iam:UpdateRole',
  'iam:UpdateAssumeRolePolicy',
  'iam:PutRolePolicy',
  'iam:DeleteRolePolicy',
  'iam:AttachRolePolicy',
  'iam:DetachRolePolicy',
  'iam:PutRolePermissionsBoundary',
  'iam:DeleteRolePermissionsBoundary',
  'iam:TagRole',
  'iam:UntagRole',
  'iam:CreatePolicyVersion',
  'iam:DeletePolicyVersion',
  'iam:SetDefaultPolicyVersion',
  'iam:DeletePolicy',
  'iam:CreateInstanceProfile',
  'iam:DeleteInstanceProfile',
  'iam:AddRoleToInstanceProfile',
  'iam:RemoveRoleFromInstanceProfile',
] as const;

/** State that outlives a deployment (spent tokens, secrets, the log, the audit trail): never destroyed by the deployer. */
export const DEPLOYER_DENIED_DESTRUCTIVE_ACTIONS = [
  'dynamodb:DeleteTable',
  's3:DeleteBucket',
  'secretsmanager:DeleteSecret',
  'cloudtrail:DeleteTrail',
  'cloudtrail:StopLogging',
] as const;

/** Secret values (issuer keys, the log signing key): the deployer creates the secrets, never reads or sets them. */
export const DEPLOYER_DENIED_SECRET_ACTIONS = [
  'secretsmanager:GetSecretValue',
  'secretsmanager:BatchGetSecretValue',
  'secretsmanager:PutSecretValue',
  'secretsmanager:UpdateSecret',
  'secretsmanager:RotateSecret',
] as const;

/** What CloudFormation calls for the four Lambda functions of our account (by fixed name). */
export const DEPLOYER_FUNCTION_ACTIONS = [
  'lambda:CreateFunction',
  'lambda:DeleteFunction',
  'lambda:GetFunction',
  'lambda:GetFunctionConfiguration',
  'lambda:UpdateFunctionCode',
  'lambda:UpdateFunctionConfiguration',
  'lambda:PutFunctionConcurrency',
  'lambda:DeleteFunctionConcurrency',
  'lambda:GetFunctionConcurrency',
  'lambda:GetRuntimeManagementConfig',
  'lambda:GetFunctionCodeSigningConfig',
  'lambda:GetFunctionRecursionConfig',
  'lambda:AddPermission',
  'lambda:RemovePermission',
  'lambda:GetPolicy',
  'lambda:TagResource',
  'lambda:UntagResource',
  'lambda:ListTags',
] as const;

/** The DNS Firewall's resource types (route53resolver ARNs; ids assigned at creation). */
export const DNS_FIREWALL_ARN_TYPES = ['firewall-domain-list', 'firewall-rule-group', 'firewall-rule-group-association', 'firewall-config'] as const;

/** What CloudFormation calls for the NetworkStack's DNS Firewall after creating it (update, read, delete, tags). */
export const DEPLOYER_DNS_FIREWALL_ACTIONS = [
  'route53resolver:GetFirewallDomainList',
  'route53resolver:UpdateFirewallDomains',
  'route53resolver:ListFirewallDomains',
  'route53resolver:DeleteFirewallDomainList',
  'route53resolver:GetFirewallRuleGroup',
  'route53resolver:ListFirewallRules',
  'route53resolver:CreateFirewallRule',
  'route53resolver:UpdateFirewallRule',
  'route53resolver:DeleteFirewallRule',
  'route53resolver:DeleteFirewallRuleGroup',
  'route53resolver:GetFirewallRuleGroupAssociation',
  'route53resolver:UpdateFirewallRuleGroupAssociation',
  'route53resolver:DisassociateFirewallRuleGroup',
  'route53resolver:GetFirewallConfig',
  'route53resolver:UpdateFirewallConfig',
  'route53resolver:ListTagsForResource',
  'route53resolver:UntagResource',
] as const;

/** What CloudFormation's AWS::Logs::LogGroup handlers call on a retained group (create, read, update; never delete). */
export const DEPLOYER_LOG_GROUP_ACTIONS = [
  'logs:CreateLogGroup',
  'logs:PutRetentionPolicy',
  'logs:ListTagsForResource',
  'logs:ListTagsLogGroup',
  'logs:GetDataProtectionPolicy',
] as const;

/** The worker groups: Auto Scaling groups named pp-workers-*, their launch templates. */
export const DEPLOYER_WORKER_GROUP_ACTIONS = [
  'autoscaling:CreateAutoScalingGroup',
  'autoscaling:UpdateAutoScalingGroup',
  'autoscaling:DeleteAutoScalingGroup',
  'autoscaling:SuspendProcesses',
  'autoscaling:ResumeProcesses',
  'autoscaling:SetDesiredCapacity',
  'autoscaling:TerminateInstanceInAutoScalingGroup',
  'autoscaling:CreateOrUpdateTags',
  'autoscaling:DeleteTags',
] as const;

export class FoundationStack extends Stack {
  readonly worker: iam.Role;
  readonly workerInstanceProfile: iam.InstanceProfile;
  readonly publisher: iam.Role;
  readonly modelOwner: iam.Role;
  readonly deployer: iam.Role;
  readonly rotation: iam.Role;
  readonly logWriter: iam.Role;
  readonly gateway: iam.Role;
  readonly issuer: iam.Role;
  readonly flowLogsDelivery: iam.Role;

  constructor(scope: Construct, id: string, props: FoundationStackProps) {
    const { config } = props;
    super(scope, id, {
      ...props,
      env: { account: config.account, region: config.region },
      description: 'Private Processing: fixed-name roles named by frozen key policies (never replaced)',
      terminationProtection: true,
    });
    const { account, region } = config;
    const roleArn = (name: string) => arn.role(account, region, name);
    const inThisAccount = { StringEquals: { 'aws:SourceAccount': account } };

    // The parent instance of every enclave. Only EC2 can assume it, through the instance
    // profile; only a principal allowed to pass it (iam:PassRole, same account) can attach
    // it. It needs no identity policy for the keys: each key policy names it directly,
    // and for DeriveSharedSecret/Decrypt only with the release's attested measurement.
    this.worker = new iam.Role(this, 'WorkerRole', {
      roleName: ROLE_NAMES.worker,
      description: 'Parent instance of the enclaves: KMS releases key material to it only with an attestation of a released PCR0',
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
    });
    this.workerInstanceProfile = new iam.InstanceProfile(this, 'WorkerInstanceProfile', {
      instanceProfileName: ROLE_NAMES.worker,
      role: this.worker,
    });

    // People and pipelines: assumable only by the principals the deployment config names.
    this.publisher = new iam.Role(this, 'PublisherRole', {
      roleName: ROLE_NAMES.publisher,
      description: 'Release pipeline: reads session keys (GetPublicKey, GetKeyPolicy, DescribeKey) to publish them in the transparency log',
      assumedBy: new iam.CompositePrincipal(...config.trustedPrincipals.publisher.map((p) => new iam.ArnPrincipal(p))),
    });
    this.modelOwner = new iam.Role(this, 'ModelOwnerRole', {
      roleName: ROLE_NAMES.modelOwner,
      description: 'Model owner: may only Encrypt with a release model key (it wraps the model data key once per release)',
      assumedBy: new iam.CompositePrincipal(...config.trustedPrincipals.modelOwner.map((p) => new iam.ArnPrincipal(p))),
    });

    // Lambda execution roles, one per function of the same fixed name, so nothing else can
    // use them. Only Lambda assumes them (a role cannot be passed to another account's
    // function; aws:SourceAccount says so in the trust policy too). Each may write only its
    // own function's log group, and touch only the resources named below, by fixed name.
    const lambdaRole = (id: string, roleName: string, functionName: string, description: string) => {
      const role = new iam.Role(this, id, {
        roleName,
        description,
        assumedBy: new iam.PrincipalWithConditions(new iam.ServicePrincipal('lambda.amazonaws.com'), inThisAccount),
      });
      const logGroup = arn.logGroup(account, region, `/aws/lambda/${functionName}`);
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'WriteOwnLogs',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [`${logGroup}:log-stream:*`],
        }),
      );
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${logGroup}:log-stream:*]`,
        reason: 'Lambda names a log stream per execution environment at run time; the wildcard covers only the streams of this function\'s own log group',
      });
      return role;
    };
    this.rotation = lambdaRole('RotationRole', ROLE_NAMES.rotation, FUNCTION_NAMES.rotation, 'Issuer-key rotation Lambda: appends issuer keys through the log writer');
    this.logWriter = lambdaRole('LogWriterRole', ROLE_NAMES.logWriter, FUNCTION_NAMES.logWriter, 'Log-writer Lambda: the only writer of the transparency log');
    this.gateway = lambdaRole('GatewayRole', ROLE_NAMES.gateway, FUNCTION_NAMES.gateway, 'Gateway Lambda: token spends, the published log, worker discovery');
    this.issuer = lambdaRole('IssuerRole', ROLE_NAMES.issuer, FUNCTION_NAMES.issuer, 'Issuer Lambda: issuer keys and the daily issuance quota');
    this.grantRuntimePermissions(config);

    // VPC Flow Logs delivery into the NetworkStack's log group, only for flow logs of this account.
    this.flowLogsDelivery = new iam.Role(this, 'FlowLogsDeliveryRole', {
      roleName: FLOW_LOGS_ROLE_NAME,
      description: 'VPC Flow Logs: writes the isolated VPC flow records to its CloudWatch Logs group',
      assumedBy: new iam.PrincipalWithConditions(new iam.ServicePrincipal('vpc-flow-logs.amazonaws.com'), {
        ...inThisAccount,
        ArnLike: { 'aws:SourceArn': `arn:${partitionOf(region)}:ec2:${region}:${account}:vpc-flow-log/*` },
      }),
    });
    const flowLogGroup = arn.logGroup(account, region, FLOW_LOG_GROUP_NAME);
    this.flowLogsDelivery.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteFlowLogGroup',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
        resources: [`${flowLogGroup}:*`],
      }),
    );
    Validations.of(this.flowLogsDelivery).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${flowLogGroup}:*]`,
      reason: 'VPC Flow Logs creates one log stream per network interface, named at run time; the wildcard covers only the streams of the one flow-log group',
    });

    // CloudFormation's execution role for every stack but this one (`cdk deploy --role-arn`).
    this.deployer = new iam.Role(this, 'DeployerRole', {
      roleName: ROLE_NAMES.deployer,
      description: 'CloudFormation execution role for every stack but the foundation: may create, disable and schedule deletion of frozen keys, never widen them',
      assumedBy: new iam.PrincipalWithConditions(new iam.ServicePrincipal('cloudformation.amazonaws.com'), inThisAccount),
    });
    const deployerPermissions = new iam.ManagedPolicy(this, 'DeployerPermissions', {
      managedPolicyName: DEPLOYER_POLICY_NAME,
      description: 'What CloudFormation needs for our stacks, and explicit denials of what would open the network, widen a key, read a secret or destroy state',
      roles: [this.deployer],
      statements: deployerStatements(config),
    });
    const partition = partitionOf(region);
    const ec2Arn = (type: string) => `arn:${partition}:ec2:${region}:${account}:${type}/*`;

    // The caller's side (review 14 #6): attached by an administrator to the CI or operator
    // principal that runs `cdk deploy --exclusively … --role-arn …pp-deployer`. It may pass
    // the deployer only to CloudFormation, change only the deployer's stacks and only as the
    // deployer, never import a KMS key, and never delete a stack.
    const operatorPolicy = new iam.ManagedPolicy(this, 'DeployOperatorPolicy', {
      managedPolicyName: DEPLOY_OPERATOR_POLICY_NAME,
      description: 'For whoever deploys the stacks run as pp-deployer: change sets on those stacks only, only as pp-deployer, no KMS key imports, no stack deletion',
      statements: deployOperatorStatements(config),
    });
    Validations.of(operatorPolicy).acknowledge(
      ...[...DEPLOYER_STACKS, 'CDKToolkit'].map((stack) => ({
        id: `AwsSolutions-IAM5[Resource::arn:${partition}:cloudformation:${region}:${account}:stack/${stack}/*]`,
        reason: 'CloudFormation appends a stack id assigned at creation to the stack ARN; the stack name is fixed (CDKToolkit: read only, for the CLI\'s bootstrap lookup)',
      })),
      { id: `AwsSolutions-IAM5[Resource::arn:${partition}:s3:::cdk-hnb659fds-assets-${account}-${region}/*]`, reason: 'the CLI uploads templates and Lambda bundles (keys are content hashes) to the one CDK bootstrap asset bucket' },
    );

    const deployerWildcards: [string, string][] = [
      [
        '*',
        'kms:CreateKey has no resource until the key exists: conditions pin key spec, usage, AWS_KMS origin, single region and this region. ' +
          'Every Describe* takes no resource: bounded to this region (the EC2 calls that change something are scoped by the pp:stack tag, below). ' +
          'route53:AssociateVPCWithHostedZone acts on the AWS-managed private zone of an interface endpoint, which has no ARN in this account; only for VPCs of this region (route53:VPCs). ' +
          'CloudWatch Logs\' log-delivery calls (HTTP API access logs) take no resource; bounded to this region. The other "*" statements are Denies.',
      ],
      ...DNS_FIREWALL_ARN_TYPES.map((type): [string, string] => [
        `arn:${partition}:route53resolver:${region}:${account}:${type}/*`,
        'Route 53 Resolver assigns DNS Firewall ids at creation and supports no resource-tag condition on them: creates need the pp:stack=PpNetwork request tag; ' +
          'updates, reads and deletes are bounded to this account\'s and region\'s DNS Firewall resources (run the project in a dedicated account)',
      ]),
      [`${flowLogGroup}:*`, 'CloudWatch Logs authorizes log-group calls (CreateLogGroup, PutRetentionPolicy) on the group ARN with its ":*" suffix; this is the one flow-log group'],
      [arn.logGroup(account, region, '*'), 'logs:DescribeLogGroups cannot be scoped below the account and region; it reads names and settings only'],
      [`arn:${partition}:s3:::cdk-hnb659fds-assets-${account}-${region}/*`, 'Lambda reads each function\'s code bundle from the CDK bootstrap asset bucket (keys are content hashes) with the caller\'s permission; read only, that one bucket'],
      [`arn:${partition}:apigateway:${region}::/apis/*`, 'HTTP API ids are assigned at creation; the management calls for APIs, stages, routes and integrations of this region only'],
      [`arn:${partition}:apigateway:${region}::/tags/*`, 'tags of the HTTP API, whose id is assigned at creation; this region only'],
      [`arn:${partition}:autoscaling:${region}:${account}:autoScalingGroup:*:autoScalingGroupName/pp-workers-*`, 'one worker group per live session-key generation, named pp-workers-<release>-g<n>; the group id is assigned at creation'],
      [`arn:${partition}:ec2:${region}::image/*`, 'RunInstances for the worker groups: only images this account owns (ec2:Owner), this region'],
      ...['distribution', 'origin-access-control', 'response-headers-policy'].map((type): [string, string] => [
        `arn:${partition}:cloudfront::${account}:${type}/*`,
        'CloudFront (global) assigns distribution, origin-access-control and policy ids at creation; this account\'s only',
      ]),
      ...['launch-template', 'instance', 'volume', 'network-interface', 'subnet', 'security-group', 'vpc', 'route-table', 'vpc-endpoint', 'vpc-flow-log', 'security-group-rule'].map((type): [string, string] => [
        ec2Arn(type),
        'EC2 assigns these ids at creation, so this account and region is the narrowest ARN; the pp:stack tag does the rest: creates only with pp:stack in the request and inside the tagged VPC, ' +
          'changes, deletions and re-tagging only of resources tagged pp:stack=PpNetwork (launch templates: PpEnclaveWorkers), CreateTags otherwise only as part of such a create. ' +
          'RunInstances (Auto Scaling\'s launch check) only with the configured instance type, IMDSv2 with hop limit 1 and encrypted volumes. Rules of a security group only with their tagged group. ' +
          'Not tag-scoped: RunInstances on network interfaces, subnets and security groups (instances of the worker groups only) and every Describe* (region-bound)',
      ]),
      ...[...Object.values(FUNCTION_NAMES).map((name) => `/aws/lambda/${name}`), API_ACCESS_LOG_GROUP_NAME].map((group): [string, string] => [
        `${arn.logGroup(account, region, group)}:*`,
        'CloudWatch Logs authorizes log-group calls on the group ARN with its ":*" suffix; one of our functions\' or the API\'s own log groups',
      ]),
    ];
    Validations.of(deployerPermissions).acknowledge(...deployerWildcards.map(([resource, reason]) => ({ id: `AwsSolutions-IAM5[Resource::${resource}]`, reason })));

    // Never replaced, never deleted with the stack.
    for (const c of this.node.findAll()) if (c instanceof CfnResource) c.applyRemovalPolicy(RemovalPolicy.RETAIN);

    // Literal ARNs (the names are fixed), so no other stack needs a cross-stack reference.
    const outputs = {
      WorkerRoleArn: ROLE_NAMES.worker,
      PublisherRoleArn: ROLE_NAMES.publisher,
      ModelOwnerRoleArn: ROLE_NAMES.modelOwner,
      DeployerRoleArn: ROLE_NAMES.deployer,
      GatewayRoleArn: ROLE_NAMES.gateway,
      IssuerRoleArn: ROLE_NAMES.issuer,
      RotationRoleArn: ROLE_NAMES.rotation,
      LogWriterRoleArn: ROLE_NAMES.logWriter,
    };
    for (const [id, name] of Object.entries(outputs)) new CfnOutput(this, id, { value: roleArn(name) });
  }

  /**
   * Each role's runtime permissions, on the resources the other stacks create under fixed
   * names (tables, secrets, buckets, the log writer's route), so the foundation needs no
   * reference to them and nothing else is reachable.
   */
  private grantRuntimePermissions(config: DeploymentConfig): void {
    const { account, region } = config;
    const partition = partitionOf(region);
    const buckets = bucketNames(account, region);
    const logBucket = arn.bucket(region, buckets.log);
    const releaseBucket = arn.bucket(region, buckets.releases);
    const logWriterRoute = arn.apiRoute(account, region, 'POST', '/v1/entries');
    const issuerKeys = arn.secret(account, region, SECRET_NAMES.issuerKeys);
    const logSigningKey = arn.secret(account, region, SECRET_NAMES.logSigningKey);
    const allow = (role: iam.Role, sid: string, actions: string[], resources: string[], conditions?: Record<string, unknown>) =>
      role.addToPolicy(new iam.PolicyStatement({ sid, actions, resources, ...(conditions ? { conditions } : {}) }));
    const acknowledge = (role: iam.Role, resource: string, reason: string) => Validations.of(role).acknowledge({ id: `AwsSolutions-IAM5[Resource::${resource}]`, reason });
    const logObjectsReason = 'the objects of the one transparency-log bucket (tiles and entry bundles are named by their index, created as the log grows)';

    // The log writer: the only writer of the log's objects; its signing key.
    allow(this.logWriter, 'ReadAndWriteTheLog', ['s3:GetObject', 's3:PutObject'], [`${logBucket}/*`]);
    // With ListBucket a missing object is 404 NoSuchKey, not 403: the writer tells a new log from a broken one.
    allow(this.logWriter, 'ListTheLog', ['s3:ListBucket'], [logBucket]);
    allow(this.logWriter, 'ReadTheLogSigningKey', ['secretsmanager:GetSecretValue'], [logSigningKey]);
    acknowledge(this.logWriter, `${logBucket}/*`, logObjectsReason);

    // Issuer rotation: reads the log, appends through the log writer's IAM route, stores the key after logging it.
    allow(this.rotation, 'ReadTheLog', ['s3:GetObject'], [`${logBucket}/*`]);
    allow(this.rotation, 'ReadAndWriteIssuerKeys', ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'], [issuerKeys]);
    allow(this.rotation, 'AppendThroughTheLogWriter', ['execute-api:Invoke'], [logWriterRoute]);
    acknowledge(this.rotation, `${logBucket}/*`, logObjectsReason);

    // The gateway: spends tokens, reads the log, finds the workers, and (in the VPC) its own network interfaces.
    allow(this.gateway, 'SpendTokens', ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'], [arn.table(account, region, TABLE_NAMES.spentTokens)]);
    allow(this.gateway, 'ReadTheLog', ['s3:GetObject'], [`${logBucket}/*`]);
    allow(this.gateway, 'FindWorkers', ['ec2:DescribeInstances', 'ec2:DescribeNetworkInterfaces'], ['*'], { StringEquals: { 'aws:RequestedRegion': region } });
    const ec2Arn = (type: string) => `arn:${partition}:ec2:${region}:${account}:${type}/*`;
    allow(
      this.gateway,
      'ManageOwnNetworkInterfaces',
      ['ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
      [ec2Arn('network-interface'), ec2Arn('subnet'), ec2Arn('security-group')],
    );
    acknowledge(this.gateway, `${logBucket}/*`, logObjectsReason);
    acknowledge(this.gateway, '*', 'ec2:DescribeInstances (worker discovery, filtered by the workers\' group tag) and ec2:DescribeNetworkInterfaces (Lambda\'s VPC attachment) take no resource; bounded to this region, and the EC2 endpoint admits only DescribeInstances');
    for (const type of ['network-interface', 'subnet', 'security-group']) {
      acknowledge(this.gateway, ec2Arn(type), 'Lambda creates and deletes the function\'s network interfaces in the isolated subnets under its execution role; their ids exist only at run time. Bounded to this account and region');
    }

    // The issuer: its keys (read only) and the daily quota counters.
    allow(this.issuer, 'CountIssuance', ['dynamodb:UpdateItem'], [arn.table(account, region, TABLE_NAMES.issuanceCounts)]);
    allow(this.issuer, 'ReadIssuerKeys', ['secretsmanager:GetSecretValue'], [issuerKeys]);

    // The worker fetches its release (EIF, parent proxy, key ARNs, sealed model) at boot.
    allow(this.worker, 'ReadReleaseArtifacts', ['s3:GetObject'], [`${releaseBucket}/*`]);
    acknowledge(this.worker, `${releaseBucket}/*`, 'the objects of the one release bucket (one folder per release, named by the release id); nothing else');

    // The release pipeline uploads the release's artifacts and appends to the log; the model owner uploads sealed models.
    allow(this.publisher, 'UploadReleaseArtifacts', ['s3:PutObject'], [`${releaseBucket}/${RELEASE_OBJECTS.publisherPrefix}*`]);
    allow(this.publisher, 'AppendToTheLog', ['execute-api:Invoke'], [logWriterRoute]);
    acknowledge(this.publisher, `${releaseBucket}/${RELEASE_OBJECTS.publisherPrefix}*`, 'release folders are named by release ids not known when the foundation is deployed; only the releases/ prefix of the one release bucket');
    allow(this.modelOwner, 'UploadSealedModels', ['s3:PutObject'], [`${releaseBucket}/${RELEASE_OBJECTS.modelOwnerPrefix}*`]);
    acknowledge(this.modelOwner, `${releaseBucket}/${RELEASE_OBJECTS.modelOwnerPrefix}*`, 'model folders are named by release ids not known when the foundation is deployed; only the models/ prefix of the one release bucket');

    const routeReason = 'HTTP API ids are assigned at creation, so the API id is a wildcard; the stage, method and path are the log writer\'s one route, and the log writer itself admits only the publisher and rotation roles';
    acknowledge(this.rotation, logWriterRoute, routeReason);
    acknowledge(this.publisher, logWriterRoute, routeReason);
  }
}

/** The stacks CloudFormation deploys as pp-deployer (not the foundation: an administrator's; not the relay: another party's). */
export const DEPLOYER_STACKS = [STACK_NAMES.network, STACK_NAMES.releaseKeys, STACK_NAMES.transparency, STACK_NAMES.gateway, STACK_NAMES.enclaveWorkers] as const;

/** What the CDK CLI calls on a stack to deploy it through a change set, and to read it back. */
export const DEPLOY_OPERATOR_STACK_ACTIONS = [
  'cloudformation:DescribeStacks',
  'cloudformation:DescribeStackEvents',
  'cloudformation:DescribeStackResources',
  'cloudformation:ListStackResources',
  'cloudformation:GetTemplate',
  'cloudformation:GetTemplateSummary',
  'cloudformation:DescribeChangeSet',
  'cloudformation:ListChangeSets',
  'cloudformation:ExecuteChangeSet',
  'cloudformation:DeleteChangeSet',
  'cloudformation:UpdateTerminationProtection',
] as const;

/**
 * The deploy operator's permissions (pp-deploy-operator): pass pp-deployer to CloudFormation
 * only; create change sets only on the deployer's stacks and only with pp-deployer as their
 * role; explicitly never a change set that imports a KMS key (an import followed by a removal
 * would retire a released key outside the record), never one without pp-deployer.
 */
export function deployOperatorStatements(config: DeploymentConfig): iam.PolicyStatement[] {
  const { account, region } = config;
  const partition = partitionOf(region);
  const deployerRole = arn.role(account, region, ROLE_NAMES.deployer);
  const stackArn = (name: string) => `arn:${partition}:cloudformation:${region}:${account}:stack/${name}/*`;
  const stacks = DEPLOYER_STACKS.map(stackArn);
  return [
    new iam.PolicyStatement({
      sid: 'PassDeployerToCloudFormationOnly',
      actions: ['iam:PassRole'],
      resources: [deployerRole],
      conditions: { StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } },
    }),
    new iam.PolicyStatement({
      sid: 'ChangeSetsOnDeployerStacksAsDeployer',
      actions: ['cloudformation:CreateChangeSet'],
      resources: stacks,
      conditions: { StringEquals: { 'cloudformation:RoleArn': deployerRole } },
    }),
    new iam.PolicyStatement({
      sid: 'DeployAndReadDeployerStacks',
      // No DeleteStack, CreateStack, UpdateStack or SetStackPolicy: deploys go through change sets run as the deployer.
      actions: [...DEPLOY_OPERATOR_STACK_ACTIONS],
      // CloudFormation authorizes all of these, change-set calls included, on the stack.
      resources: stacks,
    }),
    new iam.PolicyStatement({
      sid: 'ReadBootstrapStack',
      actions: ['cloudformation:DescribeStacks'],
      resources: [stackArn('CDKToolkit')],
    }),
    new iam.PolicyStatement({
      sid: 'UploadToBootstrapAssets',
      actions: ['s3:PutObject', 's3:GetObject', 's3:GetBucketLocation', 's3:ListBucket'],
      resources: [`arn:${partition}:s3:::cdk-hnb659fds-assets-${account}-${region}`, `arn:${partition}:s3:::cdk-hnb659fds-assets-${account}-${region}/*`],
    }),
    new iam.PolicyStatement({
      sid: 'NeverImportAKey',
      effect: iam.Effect.DENY,
      actions: ['cloudformation:CreateChangeSet'],
      resources: ['*'],
      conditions: { 'ForAnyValue:StringLike': { 'cloudformation:ImportResourceTypes': ['AWS::KMS::Key', 'AWS::KMS::*'] } },
    }),
    new iam.PolicyStatement({
      sid: 'NeverDeployTheseStacksAsAnyoneElse',
      effect: iam.Effect.DENY,
      actions: ['cloudformation:CreateChangeSet'],
      resources: stacks,
      conditions: { StringNotEquals: { 'cloudformation:RoleArn': deployerRole } },
    }),
  ];
}

/**
 * The deployer's permissions: exactly the calls CloudFormation makes for our stacks but the
 * foundation (network, keys, transparency log, gateway, workers), each scoped to the fixed
 * names it creates and bounded to this region, plus explicit denials. The key-policy side
 * (DescribeKey, GetKeyPolicy, DisableKey, ScheduleKeyDeletion, …) is granted by each key's
 * own policy (DEPLOYER_ACTIONS), so none of it is here. It creates no IAM role: it may only
 * pass the foundation's roles, each to the one service that uses it.
 */
export function deployerStatements(config: DeploymentConfig): iam.PolicyStatement[] {
  const { account, region } = config;
  const inRegion = { StringEquals: { 'aws:RequestedRegion': region } };
  const partition = partitionOf(region);
  const flowLogGroup = arn.logGroup(account, region, FLOW_LOG_GROUP_NAME);
  const buckets = bucketNames(account, region);
  const functionArns = Object.values(FUNCTION_NAMES).map((name) => arn.function(account, region, name));
  const functionLogGroups = Object.values(FUNCTION_NAMES).map((name) => arn.logGroup(account, region, `/aws/lambda/${name}`));
  const ownedLogGroups = [...functionLogGroups, arn.logGroup(account, region, API_ACCESS_LOG_GROUP_NAME)];
  const ec2Arn = (type: string) => `arn:${partition}:ec2:${region}:${account}:${type}/*`;
  const resolverArn = (type: string) => `arn:${partition}:route53resolver:${region}:${account}:${type}/*`;
  const projectNetwork = { StringEquals: { [`aws:ResourceTag/${PROJECT_TAG_KEY}`]: STACK_NAMES.network } };
  const workerTemplates = { StringEquals: { [`aws:ResourceTag/${PROJECT_TAG_KEY}`]: STACK_NAMES.enclaveWorkers } };
  return [
    new iam.PolicyStatement({
      sid: 'CreateOnlyFrozenKeyShapes',
      // CreateKey has no resource (the key does not exist yet); the conditions pin what may be created.
      actions: ['kms:CreateKey'],
      resources: ['*'],
      conditions: {
        StringEquals: {
          'aws:RequestedRegion': region,
          'kms:KeySpec': ['ECC_NIST_P256', 'SYMMETRIC_DEFAULT'],
          'kms:KeyUsage': ['KEY_AGREEMENT', 'ENCRYPT_DECRYPT'],
          'kms:KeyOrigin': 'AWS_KMS',
        },
        Bool: { 'kms:MultiRegion': 'false' },
      },
    }),
    // The NetworkStack's EC2 resources: created only with the pp:stack=PpNetwork tag and
    // inside the tagged VPC; changed, tagged and deleted only when they carry the tag. Other
    // VPCs, security groups, endpoints and flow logs of the account are out of reach.
    ...Object.entries(DEPLOYER_NETWORK_CREATES).map(
      ([action, type]) =>
        new iam.PolicyStatement({
          sid: `CreateTagged${type.split('-').map((w) => w[0]!.toUpperCase() + w.slice(1)).join('')}`,
          actions: [action],
          resources: [ec2Arn(type)],
          conditions: { StringEquals: { [`aws:RequestTag/${PROJECT_TAG_KEY}`]: STACK_NAMES.network } },
        }),
    ),
    new iam.PolicyStatement({
      sid: 'CreateOnlyInsideTheProjectNetwork',
      // The existing resources a create names: the VPC, and an endpoint's subnets, route tables and security groups.
      actions: Object.keys(DEPLOYER_NETWORK_CREATES).filter((a) => a !== 'ec2:CreateVpc'),
      resources: ['vpc', 'subnet', 'route-table', 'security-group'].map(ec2Arn),
      conditions: projectNetwork,
    }),
    new iam.PolicyStatement({
      sid: 'ChangeOnlyTheProjectNetwork',
      actions: [...DEPLOYER_NETWORK_CHANGES],
      resources: NETWORK_EC2_ARN_TYPES.map(ec2Arn),
      conditions: projectNetwork,
    }),
    new iam.PolicyStatement({
      sid: 'RulesOfTaggedSecurityGroupsOnly',
      // A rule is authorized together with its group, which ChangeOnlyTheProjectNetwork requires to be tagged.
      actions: ['ec2:AuthorizeSecurityGroupIngress', 'ec2:AuthorizeSecurityGroupEgress'],
      resources: [ec2Arn('security-group-rule')],
    }),
    new iam.PolicyStatement({
      sid: 'TagOnlyWhenCreating',
      actions: ['ec2:CreateTags'],
      resources: [...NETWORK_EC2_ARN_TYPES, 'launch-template', 'instance', 'volume'].map(ec2Arn),
      conditions: { StringEquals: { 'ec2:CreateAction': [...Object.keys(DEPLOYER_NETWORK_CREATES), 'ec2:CreateLaunchTemplate', 'ec2:RunInstances'].map((a) => a.replace(/^ec2:/, '')) } },
    }),
    new iam.PolicyStatement({
      sid: 'RetagOnlyProjectResources',
      actions: ['ec2:CreateTags', 'ec2:DeleteTags'],
      resources: [...NETWORK_EC2_ARN_TYPES, 'launch-template'].map(ec2Arn),
      conditions: { StringEquals: { [`aws:ResourceTag/${PROJECT_TAG_KEY}`]: [STACK_NAMES.network, STACK_NAMES.enclaveWorkers] } },
    }),
    new iam.PolicyStatement({
      sid: 'ReadNetwork',
      // Describe* takes no resource; bounded to this region.
      actions: [...DEPLOYER_NETWORK_READS],
      resources: ['*'],
      conditions: inRegion,
    }),
    // The DNS Firewall (review 14 #4). Its resources take no resource-tag conditions: creates
    // need the pp:stack tag; the rest are bounded to this account's and region's firewall ARNs.
    new iam.PolicyStatement({
      sid: 'CreateTaggedDnsFirewall',
      actions: ['route53resolver:CreateFirewallDomainList', 'route53resolver:CreateFirewallRuleGroup', 'route53resolver:AssociateFirewallRuleGroup', 'route53resolver:TagResource'],
      resources: DNS_FIREWALL_ARN_TYPES.filter((type) => type !== 'firewall-config').map(resolverArn),
      conditions: { StringEquals: { [`aws:RequestTag/${PROJECT_TAG_KEY}`]: STACK_NAMES.network } },
    }),
    new iam.PolicyStatement({
      sid: 'ManageDnsFirewall',
      actions: [...DEPLOYER_DNS_FIREWALL_ACTIONS],
      resources: DNS_FIREWALL_ARN_TYPES.map(resolverArn),
    }),
    new iam.PolicyStatement({
      sid: 'ListDnsFirewall',
      // List* take no resource; bounded to this region.
      actions: ['route53resolver:ListFirewallConfigs', 'route53resolver:ListFirewallDomainLists', 'route53resolver:ListFirewallRuleGroups', 'route53resolver:ListFirewallRuleGroupAssociations'],
      resources: ['*'],
      conditions: inRegion,
    }),
    new iam.PolicyStatement({
      sid: 'PrivateDnsForInterfaceEndpoints',
      // An interface endpoint with private DNS associates the VPC with the service's
      // AWS-managed private hosted zone (not in this account, no ARN to name). Route 53 is
      // global, so no aws:RequestedRegion; route53:VPCs (documented format
      // "VPCId=<vpc-id>,VPCRegion=<region>") bounds it to VPCs of this region. Whether the
      // caller needs it at all is for smoke:aws to show (review 14 #5).
      actions: ['route53:AssociateVPCWithHostedZone'],
      resources: ['*'],
      conditions: { 'ForAllValues:StringLike': { 'route53:VPCs': `VPCId=*,VPCRegion=${region}` }, Null: { 'route53:VPCs': 'false' } },
    }),
    new iam.PolicyStatement({
      sid: 'ManageFlowLogGroup',
      // The group is retained (never deleted with the stack), so no Delete* here.
      // GetDataProtectionPolicy: AWS::Logs::LogGroup's read handler (and so its create, which ends with a read).
      actions: [...DEPLOYER_LOG_GROUP_ACTIONS],
      resources: [flowLogGroup, `${flowLogGroup}:*`],
    }),
    new iam.PolicyStatement({
      sid: 'TagLogGroupsWithStackTagsOnly',
      // The log group's schema has cloudFormationSystemTags: CloudFormation passes its
      // aws:cloudformation:* tags in CreateLogGroup, which CloudWatch Logs authorizes as
      // logs:TagResource. Only those keys: the deployer sets no tags of its own on log groups.
      actions: ['logs:TagResource'],
      resources: [flowLogGroup, ...ownedLogGroups].flatMap((group) => [group, `${group}:*`]),
      conditions: { 'ForAllValues:StringLike': { 'aws:TagKeys': 'aws:cloudformation:*' }, Null: { 'aws:TagKeys': 'false' } },
    }),
    new iam.PolicyStatement({
      sid: 'ReadLogGroups',
      actions: ['logs:DescribeLogGroups'],
      resources: [arn.logGroup(account, region, '*')],
    }),
    new iam.PolicyStatement({
      sid: 'PassFlowLogsRoleToFlowLogsOnly',
      actions: ['iam:PassRole'],
      resources: [arn.role(account, region, FLOW_LOGS_ROLE_NAME)],
      conditions: { StringEquals: { 'iam:PassedToService': 'vpc-flow-logs.amazonaws.com' } },
    }),

    // --- #15: the functions, their API and schedules, state, the log's distribution, workers, the audit trail.
    new iam.PolicyStatement({
      sid: 'PassFunctionRolesToLambdaOnly',
      actions: ['iam:PassRole'],
      resources: [ROLE_NAMES.gateway, ROLE_NAMES.issuer, ROLE_NAMES.rotation, ROLE_NAMES.logWriter].map((name) => arn.role(account, region, name)),
      conditions: { StringEquals: { 'iam:PassedToService': 'lambda.amazonaws.com' } },
    }),
    new iam.PolicyStatement({
      sid: 'PassWorkerRoleToEc2Only',
      // The worker role's powers are in the key policies, and only with an attestation of a
      // released measurement: an instance launched with it otherwise reads release artifacts only.
      actions: ['iam:PassRole'],
      resources: [arn.role(account, region, ROLE_NAMES.worker)],
      conditions: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
    }),
    new iam.PolicyStatement({
      sid: 'ManageOwnFunctions',
      actions: [...DEPLOYER_FUNCTION_ACTIONS],
      resources: functionArns,
    }),
    new iam.PolicyStatement({
      sid: 'ReadFunctionCodeAssets',
      // CreateFunction reads the bundle the CLI uploaded to the bootstrap bucket with the caller's permissions.
      actions: ['s3:GetObject', 's3:GetObjectVersion'],
      resources: [`arn:${partition}:s3:::cdk-hnb659fds-assets-${account}-${region}/*`],
    }),
    new iam.PolicyStatement({
      sid: 'ManageFunctionAndApiLogGroups',
      // Retained like the flow-log group, so no Delete*.
      actions: [...DEPLOYER_LOG_GROUP_ACTIONS],
      resources: ownedLogGroups.flatMap((group) => [group, `${group}:*`]),
    }),
    new iam.PolicyStatement({
      sid: 'DeliverApiAccessLogs',
      // API Gateway delivers HTTP API access logs through CloudWatch Logs' vended-log
      // deliveries, which the caller sets up; these actions take no resource.
      actions: [
        'logs:CreateLogDelivery',
        'logs:GetLogDelivery',
        'logs:UpdateLogDelivery',
        'logs:DeleteLogDelivery',
        'logs:ListLogDeliveries',
        'logs:PutResourcePolicy',
        'logs:DescribeResourcePolicies',
      ],
      resources: ['*'],
      conditions: inRegion,
    }),
    new iam.PolicyStatement({
      sid: 'ManageHttpApi',
      // HTTP API ids are assigned at creation: the APIs, their stages, routes and integrations of this region.
      actions: ['apigateway:GET', 'apigateway:POST', 'apigateway:PUT', 'apigateway:PATCH', 'apigateway:DELETE'],
      resources: [`arn:${partition}:apigateway:${region}::/apis`, `arn:${partition}:apigateway:${region}::/apis/*`, `arn:${partition}:apigateway:${region}::/tags/*`],
    }),
    new iam.PolicyStatement({
      sid: 'ManageSchedules',
      actions: ['events:PutRule', 'events:DeleteRule', 'events:DescribeRule', 'events:EnableRule', 'events:DisableRule', 'events:PutTargets', 'events:RemoveTargets', 'events:ListTargetsByRule'],
      resources: Object.values(SCHEDULE_NAMES).map((name) => arn.rule(account, region, name)),
    }),
    new iam.PolicyStatement({
      sid: 'ManageTables',
      // No DeleteTable (denied below): the spend store must outlive any deployment.
      actions: [
        'dynamodb:CreateTable',
        'dynamodb:UpdateTable',
        'dynamodb:DescribeTable',
        'dynamodb:UpdateTimeToLive',
        'dynamodb:DescribeTimeToLive',
        'dynamodb:UpdateContinuousBackups',
        'dynamodb:DescribeContinuousBackups',
        'dynamodb:DescribeContributorInsights',
        'dynamodb:DescribeKinesisStreamingDestination',
        'dynamodb:GetResourcePolicy',
        'dynamodb:TagResource',
        'dynamodb:UntagResource',
        'dynamodb:ListTagsOfResource',
      ],
      resources: Object.values(TABLE_NAMES).map((name) => arn.table(account, region, name)),
    }),
    new iam.PolicyStatement({
      sid: 'ManageSecretsNotTheirValues',
      actions: [
        'secretsmanager:CreateSecret',
        'secretsmanager:DescribeSecret',
        'secretsmanager:TagResource',
        'secretsmanager:UntagResource',
        'secretsmanager:PutResourcePolicy',
        'secretsmanager:GetResourcePolicy',
        'secretsmanager:DeleteResourcePolicy',
        'secretsmanager:ValidateResourcePolicy',
      ],
      resources: Object.values(SECRET_NAMES).map((name) => arn.secret(account, region, name)),
    }),
    new iam.PolicyStatement({
      sid: 'ManageBuckets',
      // No DeleteBucket (denied below), no object access: the log writer writes the log, the publisher and model owner the releases.
      actions: [
        's3:CreateBucket',
        's3:GetBucketLocation',
        's3:PutBucketPolicy',
        's3:GetBucketPolicy',
        's3:DeleteBucketPolicy',
        's3:PutBucketVersioning',
        's3:GetBucketVersioning',
        's3:PutBucketObjectLockConfiguration',
        's3:GetBucketObjectLockConfiguration',
        's3:PutEncryptionConfiguration',
        's3:GetEncryptionConfiguration',
        's3:PutBucketPublicAccessBlock',
        's3:GetBucketPublicAccessBlock',
        's3:PutBucketOwnershipControls',
        's3:GetBucketOwnershipControls',
        's3:PutLifecycleConfiguration',
        's3:GetLifecycleConfiguration',
        's3:PutBucketTagging',
        's3:GetBucketTagging',
      ],
      resources: Object.values(buckets).map((name) => arn.bucket(region, name)),
    }),
    new iam.PolicyStatement({
      sid: 'ManageLogDistribution',
      // CloudFront is global and assigns ids at creation: the distributions and origin access controls of this account.
      actions: [
        'cloudfront:CreateDistribution',
        'cloudfront:UpdateDistribution',
        'cloudfront:GetDistribution',
        'cloudfront:GetDistributionConfig',
        'cloudfront:TagResource',
        'cloudfront:UntagResource',
        'cloudfront:ListTagsForResource',
        'cloudfront:CreateOriginAccessControl',
        'cloudfront:UpdateOriginAccessControl',
        'cloudfront:GetOriginAccessControl',
        'cloudfront:GetOriginAccessControlConfig',
        'cloudfront:CreateResponseHeadersPolicy',
        'cloudfront:UpdateResponseHeadersPolicy',
        'cloudfront:GetResponseHeadersPolicy',
        'cloudfront:GetResponseHeadersPolicyConfig',
      ],
      resources: ['distribution', 'origin-access-control', 'response-headers-policy'].map((type) => `arn:${partition}:cloudfront::${account}:${type}/*`),
    }),
    new iam.PolicyStatement({
      sid: 'ManageAuditTrail',
      // No StopLogging or DeleteTrail (denied below): the auditor's copy of the key events never stops.
      actions: [
        'cloudtrail:CreateTrail',
        'cloudtrail:UpdateTrail',
        'cloudtrail:StartLogging',
        'cloudtrail:PutEventSelectors',
        'cloudtrail:GetEventSelectors',
        'cloudtrail:GetTrail',
        'cloudtrail:GetTrailStatus',
        'cloudtrail:AddTags',
        'cloudtrail:RemoveTags',
        'cloudtrail:ListTags',
      ],
      resources: [arn.trail(account, region, AUDIT_TRAIL_NAME)],
    }),
    new iam.PolicyStatement({
      sid: 'ManageWorkerGroups',
      actions: [...DEPLOYER_WORKER_GROUP_ACTIONS],
      resources: [`arn:${partition}:autoscaling:${region}:${account}:autoScalingGroup:*:autoScalingGroupName/pp-workers-*`],
    }),
    new iam.PolicyStatement({
      sid: 'CreateTaggedWorkerLaunchTemplates',
      actions: ['ec2:CreateLaunchTemplate'],
      resources: [ec2Arn('launch-template')],
      conditions: { StringEquals: { [`aws:RequestTag/${PROJECT_TAG_KEY}`]: STACK_NAMES.enclaveWorkers } },
    }),
    new iam.PolicyStatement({
      sid: 'ManageWorkerLaunchTemplates',
      actions: ['ec2:CreateLaunchTemplateVersion', 'ec2:ModifyLaunchTemplate', 'ec2:DeleteLaunchTemplate', 'ec2:DeleteLaunchTemplateVersions'],
      resources: [ec2Arn('launch-template')],
      conditions: workerTemplates,
    }),
    new iam.PolicyStatement({
      sid: 'ReadWorkersAndTrails',
      // Describe calls take no resource; bounded to this region.
      actions: [
        'autoscaling:DescribeAutoScalingGroups',
        'autoscaling:DescribeAutoScalingInstances',
        'autoscaling:DescribeScalingActivities',
        'autoscaling:DescribeLifecycleHooks',
        'autoscaling:DescribeScheduledActions',
        'autoscaling:DescribeTags',
        'ec2:DescribeLaunchTemplates',
        'ec2:DescribeLaunchTemplateVersions',
        'ec2:DescribeInstances',
        'ec2:DescribeImages',
        'cloudtrail:DescribeTrails',
      ],
      resources: ['*'],
      conditions: inRegion,
    }),
    // Auto Scaling checks that whoever creates a group may launch its instances: only the
    // configured instance type, with IMDSv2 and a hop limit of 1, from an AMI this account
    // owns, on encrypted volumes, into this region's subnets and security groups.
    new iam.PolicyStatement({
      sid: 'LaunchOnlyWorkerInstances',
      actions: ['ec2:RunInstances'],
      resources: [ec2Arn('instance')],
      conditions: {
        StringEquals: { 'ec2:InstanceType': config.workers.instanceType, 'ec2:MetadataHttpTokens': 'required' },
        NumericLessThanEquals: { 'ec2:MetadataHttpPutResponseHopLimit': '1' },
      },
    }),
    new iam.PolicyStatement({
      sid: 'LaunchOnlyEncryptedVolumes',
      actions: ['ec2:RunInstances'],
      resources: [ec2Arn('volume')],
      conditions: { Bool: { 'ec2:Encrypted': 'true' } },
    }),
    new iam.PolicyStatement({
      sid: 'LaunchOnlyOwnImages',
      actions: ['ec2:RunInstances'],
      resources: [`arn:${partition}:ec2:${region}::image/*`],
      conditions: { StringEquals: { 'ec2:Owner': account } },
    }),
    new iam.PolicyStatement({
      sid: 'LaunchIntoOwnNetwork',
      actions: ['ec2:RunInstances'],
      resources: ['network-interface', 'subnet', 'security-group', 'launch-template'].map(ec2Arn),
    }),

    // --- Denials: hold even if another policy allowed these.
    new iam.PolicyStatement({
      sid: 'NeverOpenTheNetwork',
      effect: iam.Effect.DENY,
      actions: [...DEPLOYER_DENIED_NETWORK_ACTIONS],
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      sid: 'EndpointsOnlyForKmsS3DynamoDbAndEc2',
      // An endpoint to any other service (a third party's PrivateLink service above all)
      // would be a way out of the VPC.
      effect: iam.Effect.DENY,
      actions: ['ec2:CreateVpcEndpoint'],
      resources: [`arn:${partition}:ec2:${region}:${account}:vpc-endpoint/*`],
      conditions: { StringNotEquals: { 'ec2:VpceServiceName': ENDPOINT_SERVICES.map((s) => `com.amazonaws.${region}.${s}`) } },
    }),
    new iam.PolicyStatement({
      sid: 'NeverWidenAKey',
      effect: iam.Effect.DENY,
      actions: [...DEPLOYER_DENIED_KEY_ACTIONS],
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      sid: 'NeverChangeTheFoundation',
      effect: iam.Effect.DENY,
      actions: [...DEPLOYER_DENIED_IAM_ACTIONS],
      resources: [
        arn.role(account, region, 'pp-*'),
        `arn:${partition}:iam::${account}:policy/pp-*`,
        `arn:${partition}:iam::${account}:instance-profile/pp-*`,
      ],
    }),
    new iam.PolicyStatement({
      sid: 'NeverDestroyState',
      effect: iam.Effect.DENY,
      actions: [...DEPLOYER_DENIED_DESTRUCTIVE_ACTIONS],
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      sid: 'NeverReadOrSetSecretValues',
      effect: iam.Effect.DENY,
      actions: [...DEPLOYER_DENIED_SECRET_ACTIONS],
      resources: ['*'],
    }),
  ];
}
