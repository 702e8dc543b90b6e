// NetworkStack: the one VPC every private component runs in (DESIGN.md §5b). Isolated
// subnets only: no internet gateway, no NAT, no public address, no route out. AWS
// services are reached through VPC endpoints whose policies admit only this account's
// principals (and, where the user is known, only that role) on this account's resources.
// Security groups allow nothing by default; each rule below is one flow a component needs.
//
// The VPC's default security group is not touched: CDK's restrictDefaultSecurityGroup
// would deploy a custom-resource Lambda with its own role and an AWS-managed policy, and
// require the deployer to create functions and roles. Nothing is placed in the default
// group (every group here is explicit and the endpoints admit only named groups), so it
// reaches nothing; docs/infrastructure.md gives the one-time command that empties it.
import { CfnOutput, Fn, RemovalPolicy, Stack, Tags, Validations, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53resolver from 'aws-cdk-lib/aws-route53resolver';
import type { Construct } from 'constructs';
import { partitionOf } from '../protocol';
import type { DeploymentConfig } from './deployment-config';
import { arn, bucketNames, EXPORT_NAMES, FLOW_LOG_GROUP_NAME, FLOW_LOGS_ROLE_NAME, NETWORK_DNS_FIREWALL_RESOURCE_TYPES, NETWORK_EC2_RESOURCE_TYPES, PROJECT_TAG_KEY, ROLE_NAMES, STACK_NAMES, TABLE_NAMES } from './names';

export interface NetworkStackProps extends StackProps {
  readonly config: DeploymentConfig;
}

/** The KMS calls the enclave makes through its parent (DESIGN.md §2): use with a Recipient, and the boot checks. */
export const KMS_ENDPOINT_ACTIONS = ['kms:DeriveSharedSecret', 'kms:Decrypt', 'kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:GetPublicKey', 'kms:ListGrants'] as const;
/** The item calls of the gateway's spend store (reserve, commit, release); the issuer runs outside the VPC. */
export const DYNAMODB_ENDPOINT_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'] as const;
/**
 * The only names the VPC may resolve (Route 53 Resolver DNS Firewall): the four services it
 * has endpoints for, and S3's virtual-hosted bucket names. Every other query gets NXDOMAIN,
 * so DNS (which needs no route and is not in the flow logs) is not a way out.
 */
export const allowedDnsNames = (region: string): string[] => [
  `kms.${region}.amazonaws.com`,
  `s3.${region}.amazonaws.com`,
  `*.s3.${region}.amazonaws.com`,
  `dynamodb.${region}.amazonaws.com`,
  `ec2.${region}.amazonaws.com`,
];

/** Worker discovery (lambdas/gateway/ec2-discovery.ts): the only EC2 call made from the VPC. */
export const EC2_ENDPOINT_ACTIONS = ['ec2:DescribeInstances'] as const;

export class NetworkStack extends Stack {
  readonly vpc: ec2.Vpc;
  /** Parent instances of the enclaves. */
  readonly workerSecurityGroup: ec2.SecurityGroup;
  /** The gateway Lambda's network interfaces. */
  readonly gatewaySecurityGroup: ec2.SecurityGroup;
  readonly kmsEndpointSecurityGroup: ec2.SecurityGroup;
  readonly ec2EndpointSecurityGroup: ec2.SecurityGroup;
  readonly kmsEndpoint: ec2.InterfaceVpcEndpoint;
  readonly ec2Endpoint: ec2.InterfaceVpcEndpoint;
  readonly s3Endpoint: ec2.GatewayVpcEndpoint;
  readonly dynamoDbEndpoint: ec2.GatewayVpcEndpoint;
  private readonly configuredZones: string[];

  constructor(scope: Construct, id: string, props: NetworkStackProps) {
    const { config } = props;
    const { account, region, network } = config;
    super(scope, id, {
      ...props,
      env: { account, region },
      description: 'Private Processing: isolated VPC, security groups and VPC endpoints',
      terminationProtection: true,
    });
    this.configuredZones = [...config.availabilityZones];
    const partition = partitionOf(region);
    const workerRole = arn.role(account, region, ROLE_NAMES.worker);
    const gatewayRole = arn.role(account, region, ROLE_NAMES.gateway);
    const buckets = bucketNames(account, region);
    const isolated: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(network.vpcCidr),
      availabilityZones: this.availabilityZones,
      subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
      natGateways: 0,
      createInternetGateway: false,
      // Interface endpoints with private DNS need both.
      enableDnsHostnames: true,
      enableDnsSupport: true,
      restrictDefaultSecurityGroup: false,
    });
    Validations.of(this.vpc).acknowledge({
      id: 'CloudFormation-Validate::W3010',
      reason: 'The zones are named in the deployment config on purpose: synthesis must not look them up (no credentials), and the subnets must not move',
    });

    // Flow records (addresses, ports, byte counts) of the VPC's own interfaces. Clients
    // never reach this VPC (the relay and API Gateway stand between), so they record
    // internal addresses only: workers, the gateway's ENIs, endpoints.
    const flowLogGroup = new logs.LogGroup(this, 'FlowLogGroup', {
      logGroupName: FLOW_LOG_GROUP_NAME,
      retention: network.flowLogRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    new ec2.FlowLog(this, 'FlowLog', {
      resourceType: ec2.FlowLogResourceType.fromVpc(this.vpc),
      trafficType: ec2.FlowLogTrafficType.ALL,
      // The delivery role lives in the FoundationStack (the deployer creates no roles);
      // immutable, so CDK adds nothing to it from here.
      destination: ec2.FlowLogDestination.toCloudWatchLogs(
        flowLogGroup,
        iam.Role.fromRoleArn(this, 'FlowLogsDeliveryRole', arn.role(account, region, FLOW_LOGS_ROLE_NAME), { mutable: false }),
      ),
    });

    const securityGroup = (id: string, description: string) =>
      new ec2.SecurityGroup(this, id, { vpc: this.vpc, description, allowAllOutbound: false, allowAllIpv6Outbound: false });
    this.workerSecurityGroup = securityGroup('WorkerSecurityGroup', 'Enclave parent instances: in from the gateway on the worker port; out to KMS and S3 only');
    this.gatewaySecurityGroup = securityGroup('GatewaySecurityGroup', 'Gateway Lambda: out to workers, DynamoDB, S3 and the EC2 endpoint only');
    this.kmsEndpointSecurityGroup = securityGroup('KmsEndpointSecurityGroup', 'KMS interface endpoint: in from workers on 443 only');
    this.ec2EndpointSecurityGroup = securityGroup('Ec2EndpointSecurityGroup', 'EC2 interface endpoint: in from the gateway on 443 only');

    // KMS: the enclave's calls, tunnelled through its parent's vsock-proxy. Private DNS,
    // so kms.<region>.amazonaws.com (the only host the enclave trusts) resolves here.
    this.kmsEndpoint = this.vpc.addInterfaceEndpoint('KmsEndpoint', {
      service: ec2.InterfaceVpcEndpointAwsService.KMS,
      privateDnsEnabled: true,
      open: false,
      securityGroups: [this.kmsEndpointSecurityGroup],
      subnets: isolated,
    });
    this.kmsEndpoint.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WorkerUsesThisAccountsKeysOnly',
        principals: [new iam.AnyPrincipal()],
        actions: [...KMS_ENDPOINT_ACTIONS],
        resources: [`arn:${partition}:kms:${region}:${account}:key/*`],
        conditions: { StringEquals: { 'aws:PrincipalArn': workerRole, 'aws:PrincipalAccount': account } },
      }),
    );
    this.kmsEndpoint.connections.allowFrom(this.workerSecurityGroup, ec2.Port.tcp(443), 'Workers call KMS');

    // S3: the worker fetches its release (EIF, parent proxy, sealed model) from the release
    // bucket; the gateway reads the transparency log. Each role, its one bucket, GetObject only.
    this.s3Endpoint = this.vpc.addGatewayEndpoint('S3Endpoint', { service: ec2.GatewayVpcEndpointAwsService.S3, subnets: [isolated] });
    const readsOnly = (sid: string, principal: string, bucket: string) =>
      new iam.PolicyStatement({
        sid,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:GetObject'],
        resources: [`${arn.bucket(region, bucket)}/*`],
        conditions: { StringEquals: { 'aws:PrincipalArn': principal, 'aws:PrincipalAccount': account, 'aws:ResourceAccount': account } },
      });
    this.s3Endpoint.addToPolicy(readsOnly('WorkerReadsReleaseArtifactsOnly', workerRole, buckets.releases));
    this.s3Endpoint.addToPolicy(readsOnly('GatewayReadsTheLogOnly', gatewayRole, buckets.log));
    this.workerSecurityGroup.addEgressRule(ec2.Peer.prefixList(network.s3PrefixListId), ec2.Port.tcp(443), 'Workers read their release from S3 (gateway endpoint)');
    this.gatewaySecurityGroup.addEgressRule(ec2.Peer.prefixList(network.s3PrefixListId), ec2.Port.tcp(443), 'Gateway reads the transparency log from S3 (gateway endpoint)');

    // DynamoDB: the gateway's spend store, its item calls on the one table only.
    this.dynamoDbEndpoint = this.vpc.addGatewayEndpoint('DynamoDbEndpoint', { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB, subnets: [isolated] });
    this.dynamoDbEndpoint.addToPolicy(
      new iam.PolicyStatement({
        sid: 'GatewaySpendsTokensOnly',
        principals: [new iam.AnyPrincipal()],
        actions: [...DYNAMODB_ENDPOINT_ACTIONS],
        resources: [arn.table(account, region, TABLE_NAMES.spentTokens)],
        conditions: { StringEquals: { 'aws:PrincipalArn': gatewayRole, 'aws:PrincipalAccount': account } },
      }),
    );
    this.gatewaySecurityGroup.addEgressRule(ec2.Peer.prefixList(network.dynamoDbPrefixListId), ec2.Port.tcp(443), 'Gateway spend store (DynamoDB gateway endpoint)');

    // EC2 (#15): the gateway finds the workers with DescribeInstances, nothing else. Private
    // DNS, so the SDK's regional endpoint resolves here. Not a way out: the policy admits one
    // read call by one role, and the workers' security group cannot reach it.
    this.ec2Endpoint = this.vpc.addInterfaceEndpoint('Ec2Endpoint', {
      service: ec2.InterfaceVpcEndpointAwsService.EC2,
      privateDnsEnabled: true,
      open: false,
      securityGroups: [this.ec2EndpointSecurityGroup],
      subnets: isolated,
    });
    this.ec2Endpoint.addToPolicy(
      new iam.PolicyStatement({
        sid: 'GatewayFindsWorkersOnly',
        principals: [new iam.AnyPrincipal()],
        actions: [...EC2_ENDPOINT_ACTIONS],
        // DescribeInstances takes no resource.
        resources: ['*'],
        conditions: { StringEquals: { 'aws:PrincipalArn': gatewayRole, 'aws:PrincipalAccount': account } },
      }),
    );
    this.ec2Endpoint.connections.allowFrom(this.gatewaySecurityGroup, ec2.Port.tcp(443), 'Gateway finds workers (DescribeInstances)');

    // The gateway forwards ciphertext to a worker's parent proxy.
    this.workerSecurityGroup.connections.allowFrom(this.gatewaySecurityGroup, ec2.Port.tcp(network.workerPort), 'Gateway forwards requests to workers');

    // Every rule above is a separate SecurityGroupEgress resource (it names another group or
    // a prefix list), which leaves the groups' own egress list empty, and EC2 gives a group
    // created with an empty list its default allow-all rule until the first separate rule
    // replaces it. Pin the inline list to CDK's match-nothing rule instead, so no group has
    // a moment with, or a template that reads as, all egress.
    for (const group of [this.workerSecurityGroup, this.gatewaySecurityGroup, this.kmsEndpointSecurityGroup, this.ec2EndpointSecurityGroup]) {
      (group.node.defaultChild as ec2.CfnSecurityGroup).addPropertyOverride('SecurityGroupEgress', [MATCH_NO_TRAFFIC]);
    }

    // DNS Firewall: the VPC resolves the names of its four endpoints' services and nothing
    // else, and fails closed (no answer rather than an unfiltered one) if the firewall is
    // unavailable. The Amazon resolver otherwise recurses to the internet for any name.
    const allowedNames = new route53resolver.CfnFirewallDomainList(this, 'DnsAllowedNames', { name: 'pp-allowed-names', domains: allowedDnsNames(region) });
    const everyName = new route53resolver.CfnFirewallDomainList(this, 'DnsEveryName', { name: 'pp-every-name', domains: ['*'] });
    const dnsRules = new route53resolver.CfnFirewallRuleGroup(this, 'DnsFirewallRules', {
      name: 'pp-dns-allowlist',
      firewallRules: [
        { priority: 100, action: 'ALLOW', firewallDomainListId: allowedNames.attrId },
        { priority: 200, action: 'BLOCK', blockResponse: 'NXDOMAIN', firewallDomainListId: everyName.attrId },
      ],
    });
    new route53resolver.CfnFirewallRuleGroupAssociation(this, 'DnsFirewallAssociation', {
      name: 'pp-dns-allowlist',
      firewallRuleGroupId: dnsRules.attrId,
      vpcId: this.vpc.vpcId,
      priority: 101,
    });
    new route53resolver.CfnFirewallConfig(this, 'DnsFirewallConfig', { resourceId: this.vpc.vpcId, firewallFailOpen: 'DISABLED' });

    // Every EC2 resource of this stack carries pp:stack=PpNetwork: the deployer may change or
    // delete only EC2 resources so tagged, and create them only with the tag (not the log
    // group: the deployer tags log groups with CloudFormation's own tags only).
    Tags.of(this).add(PROJECT_TAG_KEY, STACK_NAMES.network, { includeResourceTypes: [...NETWORK_EC2_RESOURCE_TYPES, ...NETWORK_DNS_FIREWALL_RESOURCE_TYPES] });

    // What the gateway and worker stacks need, under fixed export names (the only cross-stack
    // values; CloudFormation refuses to change an export while another stack imports it).
    const exports: [string, string, string][] = [
      ['IsolatedSubnetIds', EXPORT_NAMES.isolatedSubnetIds, Fn.join(',', this.vpc.isolatedSubnets.map((subnet) => subnet.subnetId))],
      ['WorkerSecurityGroupId', EXPORT_NAMES.workerSecurityGroupId, this.workerSecurityGroup.securityGroupId],
      ['GatewaySecurityGroupId', EXPORT_NAMES.gatewaySecurityGroupId, this.gatewaySecurityGroup.securityGroupId],
      // The release bucket admits the worker role's reads only through this endpoint (aws:SourceVpce).
      ['S3EndpointId', EXPORT_NAMES.s3EndpointId, this.s3Endpoint.vpcEndpointId],
    ];
    for (const [id, exportName, value] of exports) new CfnOutput(this, id, { value, exportName });
  }

  /** The zones named in the config: CDK would otherwise look them up, which needs credentials at synth. */
  override get availabilityZones(): string[] {
    return this.configuredZones;
  }
}

/** CDK's own placeholder for "no egress": no host has 255.255.255.255, and ICMP type 252 code 86 does not exist. */
export const MATCH_NO_TRAFFIC = { CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic', IpProtocol: 'icmp', FromPort: 252, ToPort: 86 } as const;
