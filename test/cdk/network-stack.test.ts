// NetworkStack: one test per rule, on the synthesized template of the example deployment.
import { Match } from 'aws-cdk-lib/assertions';
import { ROLE_NAMES } from '../../protocol';
import { DYNAMODB_ENDPOINT_ACTIONS, EC2_ENDPOINT_ACTIONS, KMS_ENDPOINT_ACTIONS, MATCH_NO_TRAFFIC } from '../../lib/network-stack';
import { bucketNames, EXPORT_NAMES, FLOW_LOG_GROUP_NAME, FLOW_LOGS_ROLE_NAME, NETWORK_EC2_RESOURCE_TYPES, TABLE_NAMES } from '../../lib/names';
import { EXAMPLE_CONFIG, resourcesOfType, synthesize, type Synthesized } from '../helpers/cdk';

const { account, region } = EXAMPLE_CONFIG;
const network = EXAMPLE_CONFIG.network as { workerPort: number; s3PrefixListId: string; dynamoDbPrefixListId: string; flowLogRetentionDays: number; vpcCidr: string };
const workerRole = `arn:aws:iam::${account}:role/${ROLE_NAMES.worker}`;
const gatewayRole = `arn:aws:iam::${account}:role/${ROLE_NAMES.gateway}`;
const buckets = bucketNames(account, region);

let s: Synthesized;
let t: any;
let groupIdOf: (logicalId: string) => any;
let groups: Record<string, string>;
beforeAll(() => {
  s = synthesize();
  t = s.json.network;
  const byDescription = (prefix: string) => Object.entries(resourcesOfType(t, 'AWS::EC2::SecurityGroup')).find(([, r]) => r.Properties.GroupDescription.startsWith(prefix))![0];
  groups = { worker: byDescription('Enclave parent instances'), gateway: byDescription('Gateway Lambda'), kms: byDescription('KMS interface endpoint'), ec2: byDescription('EC2 interface endpoint') };
  groupIdOf = (logicalId) => ({ 'Fn::GetAtt': [logicalId, 'GroupId'] });
});

/** A group's rules as separate resources, without descriptions, for exact comparison. */
function rules(type: 'AWS::EC2::SecurityGroupIngress' | 'AWS::EC2::SecurityGroupEgress', group: string): any[] {
  return Object.values(resourcesOfType(t, type))
    .map((r) => r.Properties)
    .filter((p) => JSON.stringify(p.GroupId) === JSON.stringify(groupIdOf(group)))
    .map(({ Description: _d, GroupId: _g, ...rule }) => rule);
}

test('termination protection: the network is never deleted by accident', () => {
  expect(s.built.network.terminationProtection).toBe(true);
});

test('isolated subnets only: one isolated subnet per configured zone, none mapping public IPs', () => {
  const subnets = Object.values(resourcesOfType(t, 'AWS::EC2::Subnet')).map((r) => r.Properties);
  expect(subnets.map((p) => p.AvailabilityZone)).toEqual(EXAMPLE_CONFIG.availabilityZones);
  for (const p of subnets) {
    expect(p.MapPublicIpOnLaunch).toBe(false);
    expect(p.Tags).toContainEqual({ Key: 'aws-cdk:subnet-type', Value: 'Isolated' });
  }
  s.network.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: network.vpcCidr, EnableDnsHostnames: true, EnableDnsSupport: true });
});

test('no way out: no internet, NAT or egress-only gateway, no elastic IP, VPN, peering or transit attachment', () => {
  for (const type of [
    'AWS::EC2::InternetGateway',
    'AWS::EC2::VPCGatewayAttachment',
    'AWS::EC2::NatGateway',
    'AWS::EC2::EgressOnlyInternetGateway',
    'AWS::EC2::EIP',
    'AWS::EC2::VPNGateway',
    'AWS::EC2::VPCPeeringConnection',
    'AWS::EC2::TransitGatewayAttachment',
    'AWS::EC2::TransitGatewayVpcAttachment',
    'AWS::EC2::CarrierGateway',
  ]) {
    s.network.resourceCountIs(type, 0);
  }
});

test('no routes: route tables carry only the routes the gateway endpoints add themselves', () => {
  s.network.resourceCountIs('AWS::EC2::Route', 0);
});

test('no default egress: every security group\'s own egress list is only the match-nothing rule', () => {
  const all = Object.values(resourcesOfType(t, 'AWS::EC2::SecurityGroup'));
  expect(all).toHaveLength(4);
  for (const g of all) expect(g.Properties.SecurityGroupEgress).toEqual([MATCH_NO_TRAFFIC]);
});

test('no egress to the internet: no rule anywhere allows 0.0.0.0/0 or ::/0', () => {
  const everyRule = [
    ...Object.values(resourcesOfType(t, 'AWS::EC2::SecurityGroupEgress')).map((r) => r.Properties),
    ...Object.values(resourcesOfType(t, 'AWS::EC2::SecurityGroup')).flatMap((g) => [...(g.Properties.SecurityGroupEgress ?? []), ...(g.Properties.SecurityGroupIngress ?? [])]),
    ...Object.values(resourcesOfType(t, 'AWS::EC2::SecurityGroupIngress')).map((r) => r.Properties),
  ];
  expect(everyRule.length).toBeGreaterThan(3);
  for (const rule of everyRule) {
    expect(rule.CidrIp).not.toBe('0.0.0.0/0');
    expect(rule.CidrIpv6).not.toBe('::/0');
    expect(rule.IpProtocol).not.toBe('-1');
  }
});

test('no ingress from address ranges: every ingress rule names a security group', () => {
  for (const g of Object.values(resourcesOfType(t, 'AWS::EC2::SecurityGroup'))) expect(g.Properties.SecurityGroupIngress).toBeUndefined();
  for (const r of Object.values(resourcesOfType(t, 'AWS::EC2::SecurityGroupIngress'))) {
    expect(r.Properties.SourceSecurityGroupId).toBeDefined();
    expect(r.Properties.CidrIp).toBeUndefined();
    expect(r.Properties.CidrIpv6).toBeUndefined();
  }
});

test('worker security group: in only from the gateway on the worker port; out only to the KMS endpoint and S3 on 443', () => {
  const port = network.workerPort;
  expect(rules('AWS::EC2::SecurityGroupIngress', groups.worker!)).toEqual([{ IpProtocol: 'tcp', FromPort: port, ToPort: port, SourceSecurityGroupId: groupIdOf(groups.gateway!) }]);
  expect(rules('AWS::EC2::SecurityGroupEgress', groups.worker!)).toEqual(
    expect.arrayContaining([
      { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, DestinationSecurityGroupId: groupIdOf(groups.kms!) },
      { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, DestinationPrefixListId: network.s3PrefixListId },
    ]),
  );
  expect(rules('AWS::EC2::SecurityGroupEgress', groups.worker!)).toHaveLength(2);
});

test('gateway security group: nothing in; out only to workers on the worker port, and DynamoDB, S3 and the EC2 endpoint on 443', () => {
  const port = network.workerPort;
  expect(rules('AWS::EC2::SecurityGroupIngress', groups.gateway!)).toEqual([]);
  expect(rules('AWS::EC2::SecurityGroupEgress', groups.gateway!)).toEqual(
    expect.arrayContaining([
      { IpProtocol: 'tcp', FromPort: port, ToPort: port, DestinationSecurityGroupId: groupIdOf(groups.worker!) },
      { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, DestinationPrefixListId: network.dynamoDbPrefixListId },
      { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, DestinationPrefixListId: network.s3PrefixListId },
      { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, DestinationSecurityGroupId: groupIdOf(groups.ec2!) },
    ]),
  );
  expect(rules('AWS::EC2::SecurityGroupEgress', groups.gateway!)).toHaveLength(4);
});

test('EC2 endpoint security group: in only from the gateway on 443; nothing out', () => {
  expect(rules('AWS::EC2::SecurityGroupIngress', groups.ec2!)).toEqual([{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, SourceSecurityGroupId: groupIdOf(groups.gateway!) }]);
  expect(rules('AWS::EC2::SecurityGroupEgress', groups.ec2!)).toEqual([]);
});

test('KMS endpoint security group: in only from workers on 443; nothing out', () => {
  expect(rules('AWS::EC2::SecurityGroupIngress', groups.kms!)).toEqual([{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, SourceSecurityGroupId: groupIdOf(groups.worker!) }]);
  expect(rules('AWS::EC2::SecurityGroupEgress', groups.kms!)).toEqual([]);
});

// #14 had exactly KMS, S3 and DynamoDB; #15 adds EC2 on purpose: the gateway Lambda, in the
// VPC, finds the workers with DescribeInstances (its endpoint policy admits nothing else).
test('endpoints: exactly KMS and EC2 interface endpoints and S3 and DynamoDB gateway endpoints', () => {
  const endpoints = Object.values(resourcesOfType(t, 'AWS::EC2::VPCEndpoint')).map((r) => [JSON.stringify(r.Properties.ServiceName), r.Properties.VpcEndpointType]);
  expect(endpoints.sort()).toEqual(
    [
      [JSON.stringify(`com.amazonaws.${region}.kms`), 'Interface'],
      [JSON.stringify(`com.amazonaws.${region}.ec2`), 'Interface'],
      [JSON.stringify({ 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.s3']] }), 'Gateway'],
      [JSON.stringify({ 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.dynamodb']] }), 'Gateway'],
    ].sort(),
  );
});

test('KMS endpoint: private DNS, its own security group, and a policy for the worker role\'s calls on this account\'s keys only', () => {
  s.network.hasResourceProperties('AWS::EC2::VPCEndpoint', {
    ServiceName: `com.amazonaws.${region}.kms`,
    PrivateDnsEnabled: true,
    SecurityGroupIds: [groupIdOf(groups.kms!)],
    // Exact: no other statement, condition or action may slip in.
    PolicyDocument: Match.exact({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'WorkerUsesThisAccountsKeysOnly',
          Effect: 'Allow',
          Principal: { AWS: '*' },
          Action: [...KMS_ENDPOINT_ACTIONS],
          Resource: `arn:aws:kms:${region}:${account}:key/*`,
          Condition: { StringEquals: { 'aws:PrincipalArn': workerRole, 'aws:PrincipalAccount': account } },
        },
      ],
    }),
  });
});

test('S3 endpoint: only GetObject, by the worker role from the release bucket and by the gateway role from the log bucket', () => {
  const readsOnly = (sid: string, principal: string, bucket: string) => ({
    Sid: sid,
    Effect: 'Allow',
    Principal: { AWS: '*' },
    Action: 's3:GetObject',
    Resource: `arn:aws:s3:::${bucket}/*`,
    Condition: { StringEquals: { 'aws:PrincipalArn': principal, 'aws:PrincipalAccount': account, 'aws:ResourceAccount': account } },
  });
  s.network.hasResourceProperties('AWS::EC2::VPCEndpoint', {
    VpcEndpointType: 'Gateway',
    ServiceName: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith(['.s3'])] }),
    // Exact: no other statement, condition or action may slip in.
    PolicyDocument: Match.exact({
      Version: '2012-10-17',
      Statement: [readsOnly('WorkerReadsReleaseArtifactsOnly', workerRole, buckets.releases), readsOnly('GatewayReadsTheLogOnly', gatewayRole, buckets.log)],
    }),
  });
});

test('EC2 endpoint: private DNS, its own security group, and a policy for the gateway role\'s DescribeInstances only', () => {
  s.network.hasResourceProperties('AWS::EC2::VPCEndpoint', {
    ServiceName: `com.amazonaws.${region}.ec2`,
    PrivateDnsEnabled: true,
    SecurityGroupIds: [groupIdOf(groups.ec2!)],
    PolicyDocument: Match.exact({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'GatewayFindsWorkersOnly',
          Effect: 'Allow',
          Principal: { AWS: '*' },
          Action: EC2_ENDPOINT_ACTIONS[0],
          Resource: '*',
          Condition: { StringEquals: { 'aws:PrincipalArn': gatewayRole, 'aws:PrincipalAccount': account } },
        },
      ],
    }),
  });
});

test('DynamoDB endpoint: the gateway role\'s item calls only, on the spent-tokens table only', () => {
  s.network.hasResourceProperties('AWS::EC2::VPCEndpoint', {
    VpcEndpointType: 'Gateway',
    ServiceName: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith(['.dynamodb'])] }),
    // Exact: no other statement, condition or action may slip in.
    PolicyDocument: Match.exact({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'GatewaySpendsTokensOnly',
          Effect: 'Allow',
          Principal: { AWS: '*' },
          Action: [...DYNAMODB_ENDPOINT_ACTIONS],
          Resource: `arn:aws:dynamodb:${region}:${account}:table/${TABLE_NAMES.spentTokens}`,
          Condition: { StringEquals: { 'aws:PrincipalArn': gatewayRole, 'aws:PrincipalAccount': account } },
        },
      ],
    }),
  });
});

test('endpoints in every zone: each endpoint serves every isolated subnet', () => {
  const subnets = Object.keys(resourcesOfType(t, 'AWS::EC2::Subnet')).map((id) => ({ Ref: id }));
  const tables = Object.keys(resourcesOfType(t, 'AWS::EC2::RouteTable')).map((id) => ({ Ref: id }));
  for (const e of Object.values(resourcesOfType(t, 'AWS::EC2::VPCEndpoint'))) {
    if (e.Properties.VpcEndpointType === 'Interface') expect(e.Properties.SubnetIds).toEqual(subnets);
    else expect(e.Properties.RouteTableIds).toEqual(tables);
  }
});

test('flow logs: all traffic of the VPC to the retained, size-limited flow-log group, delivered by the foundation\'s role', () => {
  const groupId = Object.keys(resourcesOfType(t, 'AWS::Logs::LogGroup'))[0]!;
  s.network.hasResource('AWS::Logs::LogGroup', {
    Properties: { LogGroupName: FLOW_LOG_GROUP_NAME, RetentionInDays: network.flowLogRetentionDays },
    DeletionPolicy: 'Retain',
  });
  const vpcId = Object.keys(resourcesOfType(t, 'AWS::EC2::VPC'))[0]!;
  s.network.hasResourceProperties('AWS::EC2::FlowLog', {
    ResourceType: 'VPC',
    ResourceId: { Ref: vpcId },
    TrafficType: 'ALL',
    LogDestinationType: 'cloud-watch-logs',
    LogGroupName: { Ref: groupId },
    DeliverLogsPermissionArn: `arn:aws:iam::${account}:role/${FLOW_LOGS_ROLE_NAME}`,
  });
});

test('no custom resources: the default security group is left to the documented one-time command, not a Lambda', () => {
  s.network.resourceCountIs('AWS::Lambda::Function', 0);
  s.network.resourceCountIs('AWS::IAM::Role', 0);
  for (const r of Object.values(t.Resources as Record<string, any>)) expect(r.Type).not.toMatch(/^Custom::|^AWS::CloudFormation::CustomResource$/);
});

test('cross-stack values: the network exports exactly its subnets, two security groups and the S3 endpoint id, under fixed names; foundation and keys export and import nothing', () => {
  const exported = Object.values(t.Outputs as Record<string, any>).filter((o) => o.Export).map((o) => o.Export.Name);
  expect(exported.sort()).toEqual([EXPORT_NAMES.isolatedSubnetIds, EXPORT_NAMES.workerSecurityGroupId, EXPORT_NAMES.gatewaySecurityGroupId, EXPORT_NAMES.s3EndpointId].sort());
  for (const template of [s.json.foundation, s.json.network, s.json.releaseKeys]) {
    expect(JSON.stringify(template)).not.toContain('Fn::ImportValue');
    // No automatic (CDK-generated) export: every export is one of the fixed names.
    for (const o of Object.values((template.Outputs ?? {}) as Record<string, any>)) if (o.Export) expect(Object.values(EXPORT_NAMES)).toContain(o.Export.Name);
  }
  for (const template of [s.json.foundation, s.json.releaseKeys]) for (const o of Object.values((template.Outputs ?? {}) as Record<string, any>)) expect(o.Export).toBeUndefined();
});

test('DNS firewall: the VPC resolves only the KMS, S3 (and bucket), DynamoDB and EC2 regional names; every other name is blocked, and the firewall fails closed', () => {
  const vpcRef = { Ref: Object.keys(resourcesOfType(t, 'AWS::EC2::VPC'))[0] };
  const lists = Object.entries(resourcesOfType(t, 'AWS::Route53Resolver::FirewallDomainList'));
  const listId = (domains: string[]) => ({ 'Fn::GetAtt': [lists.find(([, r]) => JSON.stringify(r.Properties.Domains) === JSON.stringify(domains))![0], 'Id'] });
  expect(lists.map(([, r]) => r.Properties.Domains)).toEqual([
    [`kms.${region}.amazonaws.com`, `s3.${region}.amazonaws.com`, `*.s3.${region}.amazonaws.com`, `dynamodb.${region}.amazonaws.com`, `ec2.${region}.amazonaws.com`],
    ['*'],
  ]);
  const groups = Object.entries(resourcesOfType(t, 'AWS::Route53Resolver::FirewallRuleGroup'));
  expect(groups).toHaveLength(1);
  expect(groups[0]![1].Properties.FirewallRules).toEqual([
    { Priority: 100, Action: 'ALLOW', FirewallDomainListId: listId(lists[0]![1].Properties.Domains) },
    { Priority: 200, Action: 'BLOCK', BlockResponse: 'NXDOMAIN', FirewallDomainListId: listId(['*']) },
  ]);
  const associations = Object.values(resourcesOfType(t, 'AWS::Route53Resolver::FirewallRuleGroupAssociation'));
  expect(associations.map((r) => [r.Properties.VpcId, r.Properties.FirewallRuleGroupId])).toEqual([[vpcRef, { 'Fn::GetAtt': [groups[0]![0], 'Id'] }]]);
  expect(Object.values(resourcesOfType(t, 'AWS::Route53Resolver::FirewallConfig')).map((r) => r.Properties)).toEqual([{ ResourceId: vpcRef, FirewallFailOpen: 'DISABLED' }]);
});

test('project tag: every EC2 resource of the network carries pp:stack=PpNetwork (the deployer changes nothing else), the log group none of ours', () => {
  const ec2Types = new Set(Object.values(t.Resources as Record<string, any>).map((r) => r.Type).filter((type: string) => type.startsWith('AWS::EC2::') && !/Ingress|Egress|Association/.test(type)));
  expect([...ec2Types].sort()).toEqual([...NETWORK_EC2_RESOURCE_TYPES].sort());
  for (const type of NETWORK_EC2_RESOURCE_TYPES) {
    for (const [id, r] of Object.entries(resourcesOfType(t, type))) expect([id, r.Properties.Tags]).toEqual([id, expect.arrayContaining([{ Key: 'pp:stack', Value: 'PpNetwork' }])]);
  }
  for (const r of Object.values(resourcesOfType(t, 'AWS::Logs::LogGroup'))) expect(r.Properties.Tags).toBeUndefined();
});

test('snapshot: the NetworkStack template', () => {
  expect(t).toMatchSnapshot();
});
