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
import { partitionOf } from '../protocol';
import type { DeploymentConfig } from './deployment-config';
import { arn, DEPLOYER_POLICY_NAME, FLOW_LOG_GROUP_NAME, FLOW_LOGS_ROLE_NAME, FUNCTION_NAMES, ROLE_NAMES } from './names';

export interface FoundationStackProps extends StackProps {
  readonly config: DeploymentConfig;
}

/** EC2 calls CloudFormation makes for the NetworkStack (create, update, delete, read back). */
export const DEPLOYER_NETWORK_ACTIONS = [
  'ec2:CreateVpc',
  'ec2:DeleteVpc',
  'ec2:ModifyVpcAttribute',
  'ec2:CreateSubnet',
  'ec2:DeleteSubnet',
  'ec2:ModifySubnetAttribute',
  'ec2:CreateRouteTable',
  'ec2:DeleteRouteTable',
  'ec2:AssociateRouteTable',
  'ec2:DisassociateRouteTable',
  'ec2:CreateSecurityGroup',
  'ec2:DeleteSecurityGroup',
  'ec2:AuthorizeSecurityGroupIngress',
  'ec2:AuthorizeSecurityGroupEgress',
  'ec2:RevokeSecurityGroupIngress',
  'ec2:RevokeSecurityGroupEgress',
  'ec2:UpdateSecurityGroupRuleDescriptionsIngress',
  'ec2:UpdateSecurityGroupRuleDescriptionsEgress',
  'ec2:CreateVpcEndpoint',
  'ec2:ModifyVpcEndpoint',
  'ec2:DeleteVpcEndpoints',
  'ec2:CreateFlowLogs',
  'ec2:DeleteFlowLogs',
  'ec2:CreateTags',
  'ec2:DeleteTags',
  'ec2:DescribeAccountAttributes',
  'ec2:DescribeAvailabilityZones',
  'ec2:DescribeFlowLogs',
  'ec2:DescribeManagedPrefixLists',
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

/** The only services the NetworkStack makes endpoints for. */
export const ENDPOINT_SERVICES = ['kms', 's3', 'dynamodb'] as const;

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
] as const;

/** What could widen a frozen key: denied to the deployer here as well as by every key policy. */
export const DEPLOYER_DENIED_KEY_ACTIONS = [
  'kms:PutKeyPolicy',
  'kms:CreateGrant',
  'kms:ReplicateKey',
  'kms:UpdatePrimaryRegion',
  'kms:ImportKeyMaterial',
  'kms:CancelKeyDeletion',
  'kms:EnableKey',
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

export class FoundationStack extends Stack {
  readonly worker: iam.Role;
  readonly workerInstanceProfile: iam.InstanceProfile;
  readonly publisher: iam.Role;
  readonly modelOwner: iam.Role;
  readonly deployer: iam.Role;
  readonly rotation: iam.Role;
  readonly logWriter: iam.Role;
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

    // Lambda execution roles for the functions of #15, fixed so nothing else can use them.
    // Only Lambda assumes them (a role cannot be passed to another account's function;
    // aws:SourceAccount says so in the trust policy too).
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
      description: 'CloudFormation execution role for the network and key stacks: may create, disable and schedule deletion of frozen keys, never widen them',
      assumedBy: new iam.PrincipalWithConditions(new iam.ServicePrincipal('cloudformation.amazonaws.com'), inThisAccount),
    });
    const deployerPermissions = new iam.ManagedPolicy(this, 'DeployerPermissions', {
      managedPolicyName: DEPLOYER_POLICY_NAME,
      description: 'What CloudFormation needs for PpNetwork and PpReleaseKeys, and explicit denials of what would open the network or widen a key',
      roles: [this.deployer],
      statements: deployerStatements(account, region),
    });
    Validations.of(deployerPermissions).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'kms:CreateKey has no resource until the key exists: conditions pin key spec, usage, AWS_KMS origin, single region and this region. ' +
          'The EC2 network calls authorize against resource types that do not exist yet (and Describe* take no resource): bounded to this region, ' +
          'with every way out of the VPC (gateways, routes, peering, addresses, endpoints to other services) explicitly denied. ' +
          'route53:AssociateVPCWithHostedZone acts on the AWS-managed private zone of the KMS endpoint, which has no ARN in this account. The other "*" statements are Denies.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::${flowLogGroup}:*]`,
        reason: 'CloudWatch Logs authorizes log-group calls (CreateLogGroup, PutRetentionPolicy) on the group ARN with its ":*" suffix; this is the one flow-log group',
      },
      {
        id: `AwsSolutions-IAM5[Resource::${arn.logGroup(account, region, '*')}]`,
        reason: 'logs:DescribeLogGroups cannot be scoped below the account and region; it reads names and settings only',
      },
    );

    // Never replaced, never deleted with the stack.
    for (const c of this.node.findAll()) if (c instanceof CfnResource) c.applyRemovalPolicy(RemovalPolicy.RETAIN);

    // Literal ARNs (the names are fixed), so no other stack needs a cross-stack reference.
    const outputs = { WorkerRoleArn: ROLE_NAMES.worker, PublisherRoleArn: ROLE_NAMES.publisher, ModelOwnerRoleArn: ROLE_NAMES.modelOwner, DeployerRoleArn: ROLE_NAMES.deployer };
    for (const [id, name] of Object.entries(outputs)) new CfnOutput(this, id, { value: roleArn(name) });
  }
}

/**
 * The deployer's permissions: exactly the calls CloudFormation makes for the NetworkStack
 * and the ReleaseKeysStack, bounded to this region, plus explicit denials. The key-policy
 * side (DescribeKey, GetKeyPolicy, DisableKey, ScheduleKeyDeletion, …) is granted by each
 * key's own policy (DEPLOYER_ACTIONS), so none of it is here.
 */
export function deployerStatements(account: string, region: string): iam.PolicyStatement[] {
  const inRegion = { StringEquals: { 'aws:RequestedRegion': region } };
  const partition = partitionOf(region);
  const flowLogGroup = arn.logGroup(account, region, FLOW_LOG_GROUP_NAME);
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
    new iam.PolicyStatement({
      sid: 'ManageIsolatedNetwork',
      // EC2 authorizes these against several resource types, most not yet created when
      // CloudFormation calls; the region condition bounds them, the denials below remove
      // every way out of the VPC.
      actions: [...DEPLOYER_NETWORK_ACTIONS],
      resources: ['*'],
      conditions: inRegion,
    }),
    new iam.PolicyStatement({
      sid: 'PrivateDnsForInterfaceEndpoints',
      // An interface endpoint with private DNS associates the VPC with the service's
      // AWS-managed private hosted zone (not in this account, no ARN to name). Route 53 is
      // global, so no region condition.
      actions: ['route53:AssociateVPCWithHostedZone'],
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      sid: 'ManageFlowLogGroup',
      // The group is retained (never deleted with the stack), so no Delete* here.
      actions: ['logs:CreateLogGroup', 'logs:PutRetentionPolicy', 'logs:ListTagsForResource', 'logs:ListTagsLogGroup'],
      resources: [flowLogGroup, `${flowLogGroup}:*`],
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
    new iam.PolicyStatement({
      sid: 'NeverOpenTheNetwork',
      effect: iam.Effect.DENY,
      actions: [...DEPLOYER_DENIED_NETWORK_ACTIONS],
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      sid: 'EndpointsOnlyForKmsS3AndDynamoDb',
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
  ];
}
