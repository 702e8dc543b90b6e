// FoundationStack: one test per rule, on the synthesized template of the example deployment.
import { FROZEN_ACTIONS, ROLE_NAMES } from '../../protocol';
import {
  DEPLOYER_DENIED_DESTRUCTIVE_ACTIONS,
  DEPLOYER_DENIED_IAM_ACTIONS,
  DEPLOYER_DENIED_KEY_ACTIONS,
  DEPLOYER_DENIED_NETWORK_ACTIONS,
  DEPLOYER_DENIED_SECRET_ACTIONS,
  DEPLOYER_NETWORK_ACTIONS,
  DEPLOYER_NETWORK_CHANGES,
  ENDPOINT_SERVICES,
} from '../../lib/foundation-stack';
import { bucketNames, FLOW_LOGS_ROLE_NAME, FLOW_LOG_GROUP_NAME, FUNCTION_NAMES, SECRET_NAMES, TABLE_NAMES } from '../../lib/names';
import { EXAMPLE_CONFIG, resourcesOfType, synthesize, type Synthesized } from '../helpers/cdk';

const { account, region } = EXAMPLE_CONFIG;
const buckets = bucketNames(account, region);
const logWriterRoute = `arn:aws:execute-api:${region}:${account}:*/$default/POST/v1/entries`;
const secretArn = (name: string) => `arn:aws:secretsmanager:${region}:${account}:secret:${name}-??????`;
const tableArn = (name: string) => `arn:aws:dynamodb:${region}:${account}:table/${name}`;
const LAMBDA_ROLES = [ROLE_NAMES.rotation, ROLE_NAMES.logWriter, ROLE_NAMES.gateway, ROLE_NAMES.issuer];
const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

let s: Synthesized;
let roles: Record<string, any>;
beforeAll(() => {
  s = synthesize();
  roles = Object.fromEntries(Object.values(resourcesOfType(s.json.foundation, 'AWS::IAM::Role')).map((r) => [r.Properties.RoleName, r.Properties]));
});

const trustOf = (name: string) => roles[name].AssumeRolePolicyDocument.Statement as any[];
/** Every statement of every identity policy (inline and managed) attached to a role, by role name. */
function identityStatements(): { role: string; statement: any }[] {
  const out: { role: string; statement: any }[] = [];
  const logicalToName = Object.fromEntries(Object.entries(resourcesOfType(s.json.foundation, 'AWS::IAM::Role')).map(([id, r]) => [id, r.Properties.RoleName]));
  for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
    for (const policy of Object.values(resourcesOfType(s.json.foundation, type))) {
      for (const ref of policy.Properties.Roles ?? []) {
        for (const statement of policy.Properties.PolicyDocument.Statement) out.push({ role: logicalToName[ref.Ref], statement });
      }
    }
  }
  return out;
}
const deployerStatements = () => identityStatements().filter((x) => x.role === ROLE_NAMES.deployer).map((x) => x.statement);

test('termination protection: the foundation is never deleted by accident', () => {
  expect(s.built.foundation.terminationProtection).toBe(true);
});

test('retention: every resource is retained on delete and on replacement', () => {
  for (const [id, r] of Object.entries(s.json.foundation.Resources as Record<string, any>)) {
    expect([id, r.DeletionPolicy, r.UpdateReplacePolicy]).toEqual([id, 'Retain', 'Retain']);
  }
});

test('fixed names: one role per name in ROLE_NAMES plus the flow-log delivery role, at the root path', () => {
  expect(Object.keys(roles).sort()).toEqual([...Object.values(ROLE_NAMES), FLOW_LOGS_ROLE_NAME].sort());
  for (const r of Object.values(roles)) expect(r.Path ?? '/').toBe('/');
  s.foundation.hasResourceProperties('AWS::IAM::InstanceProfile', { InstanceProfileName: ROLE_NAMES.worker });
});

test('worker trust: only EC2 (through the instance profile) may assume the worker role', () => {
  expect(trustOf(ROLE_NAMES.worker)).toEqual([{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'ec2.amazonaws.com' } }]);
  const profiles = Object.values(resourcesOfType(s.json.foundation, 'AWS::IAM::InstanceProfile'));
  expect(profiles).toHaveLength(1);
  const workerLogicalId = Object.entries(resourcesOfType(s.json.foundation, 'AWS::IAM::Role')).find(([, r]) => r.Properties.RoleName === ROLE_NAMES.worker)![0];
  expect(profiles[0].Properties.Roles).toEqual([{ Ref: workerLogicalId }]);
});

test('lambda trust: the rotation, log-writer, gateway and issuer roles may be assumed only by Lambda in this account', () => {
  for (const name of LAMBDA_ROLES) {
    expect(trustOf(name)).toEqual([
      { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'lambda.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': account } } },
    ]);
  }
});

test('people and pipelines: the publisher and model owner trust exactly the configured principals', () => {
  const principals = (name: string) => trustOf(name).flatMap((st) => asList(st.Principal.AWS));
  expect(principals(ROLE_NAMES.publisher)).toEqual(EXAMPLE_CONFIG.trustedPrincipals.publisher);
  expect(principals(ROLE_NAMES.modelOwner)).toEqual(EXAMPLE_CONFIG.trustedPrincipals.modelOwner);
  for (const name of [ROLE_NAMES.publisher, ROLE_NAMES.modelOwner]) {
    for (const st of trustOf(name)) expect(st).toEqual({ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: st.Principal.AWS } });
  }
});

test('deployer trust: only CloudFormation in this account may assume the deployer role (aws:SourceAccount)', () => {
  expect(trustOf(ROLE_NAMES.deployer)).toEqual([
    { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'cloudformation.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': account } } },
  ]);
});

test('flow-log trust: only VPC Flow Logs of this account (aws:SourceAccount and aws:SourceArn) may assume the delivery role', () => {
  expect(trustOf(FLOW_LOGS_ROLE_NAME)).toEqual([
    {
      Effect: 'Allow',
      Action: 'sts:AssumeRole',
      Principal: { Service: 'vpc-flow-logs.amazonaws.com' },
      Condition: { StringEquals: { 'aws:SourceAccount': account }, ArnLike: { 'aws:SourceArn': `arn:aws:ec2:${region}:${account}:vpc-flow-log/*` } },
    },
  ]);
});

test('no open trust: no trust policy names everyone, a wildcard or an account root', () => {
  for (const [name, r] of Object.entries(roles)) {
    for (const st of r.AssumeRolePolicyDocument.Statement) {
      expect(st.Principal).not.toBe('*');
      for (const p of asList(st.Principal.AWS)) {
        expect([name, p]).not.toEqual([name, expect.stringContaining('*')]);
        expect([name, p]).not.toEqual([name, expect.stringMatching(/:root$/)]);
      }
    }
  }
});

test('no action wildcards: no Allow in any identity policy names an action with *', () => {
  for (const { role, statement } of identityStatements()) {
    if (statement.Effect !== 'Allow') continue;
    for (const action of asList(statement.Action)) expect([role, action]).not.toEqual([role, expect.stringContaining('*')]);
  }
});

test('least privilege: the worker may only read release artifacts, the publisher and model owner only upload theirs (and the publisher append to the log); their key rights are in the key policies', () => {
  const statementsOf = (name: string) => identityStatements().filter((x) => x.role === name).map((x) => x.statement);
  expect(statementsOf(ROLE_NAMES.worker)).toEqual([{ Sid: 'ReadReleaseArtifacts', Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${buckets.releases}/*` }]);
  expect(statementsOf(ROLE_NAMES.publisher)).toEqual([
    { Sid: 'UploadReleaseArtifacts', Effect: 'Allow', Action: 's3:PutObject', Resource: `arn:aws:s3:::${buckets.releases}/releases/*` },
    { Sid: 'AppendToTheLog', Effect: 'Allow', Action: 'execute-api:Invoke', Resource: logWriterRoute },
  ]);
  expect(statementsOf(ROLE_NAMES.modelOwner)).toEqual([{ Sid: 'UploadSealedModels', Effect: 'Allow', Action: 's3:PutObject', Resource: `arn:aws:s3:::${buckets.releases}/models/*` }]);
  expect(statementsOf(ROLE_NAMES.deployer).length).toBeGreaterThan(0);
  for (const r of Object.values(roles)) expect(r.ManagedPolicyArns).toBeUndefined();
});

test('lambda logs: each Lambda role may write only its own function\'s log group', () => {
  for (const [name, fn] of [
    [ROLE_NAMES.rotation, FUNCTION_NAMES.rotation],
    [ROLE_NAMES.logWriter, FUNCTION_NAMES.logWriter],
    [ROLE_NAMES.gateway, FUNCTION_NAMES.gateway],
    [ROLE_NAMES.issuer, FUNCTION_NAMES.issuer],
  ] as const) {
    const statements = identityStatements().filter((x) => x.role === name).map((x) => x.statement);
    expect(statements[0]).toEqual({
      Sid: 'WriteOwnLogs',
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: `arn:aws:logs:${region}:${account}:log-group:/aws/lambda/${fn}:log-stream:*`,
    });
    for (const st of statements.slice(1)) expect(JSON.stringify(st)).not.toContain('logs:');
  }
});

test('lambda runtime permissions: each role exactly what its handler calls, on resources named by their fixed names', () => {
  const runtime = (name: string) => identityStatements().filter((x) => x.role === name && x.statement.Sid !== 'WriteOwnLogs').map((x) => x.statement);
  const log = `arn:aws:s3:::${buckets.log}`;
  expect(runtime(ROLE_NAMES.logWriter)).toEqual([
    { Sid: 'ReadAndWriteTheLog', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: `${log}/*` },
    { Sid: 'ListTheLog', Effect: 'Allow', Action: 's3:ListBucket', Resource: log },
    { Sid: 'ReadTheLogSigningKey', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: secretArn(SECRET_NAMES.logSigningKey) },
  ]);
  expect(runtime(ROLE_NAMES.rotation)).toEqual([
    { Sid: 'ReadTheLog', Effect: 'Allow', Action: 's3:GetObject', Resource: `${log}/*` },
    { Sid: 'ReadAndWriteIssuerKeys', Effect: 'Allow', Action: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'], Resource: secretArn(SECRET_NAMES.issuerKeys) },
    { Sid: 'AppendThroughTheLogWriter', Effect: 'Allow', Action: 'execute-api:Invoke', Resource: logWriterRoute },
  ]);
  expect(runtime(ROLE_NAMES.gateway)).toEqual([
    { Sid: 'SpendTokens', Effect: 'Allow', Action: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'], Resource: tableArn(TABLE_NAMES.spentTokens) },
    { Sid: 'ReadTheLog', Effect: 'Allow', Action: 's3:GetObject', Resource: `${log}/*` },
    { Sid: 'FindWorkers', Effect: 'Allow', Action: ['ec2:DescribeInstances', 'ec2:DescribeNetworkInterfaces'], Resource: '*', Condition: { StringEquals: { 'aws:RequestedRegion': region } } },
    {
      Sid: 'ManageOwnNetworkInterfaces',
      Effect: 'Allow',
      Action: ['ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
      Resource: ['network-interface', 'subnet', 'security-group'].map((type) => `arn:aws:ec2:${region}:${account}:${type}/*`),
    },
  ]);
  expect(runtime(ROLE_NAMES.issuer)).toEqual([
    { Sid: 'CountIssuance', Effect: 'Allow', Action: 'dynamodb:UpdateItem', Resource: tableArn(TABLE_NAMES.issuanceCounts) },
    { Sid: 'ReadIssuerKeys', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: secretArn(SECRET_NAMES.issuerKeys) },
  ]);
});

test('secrets: only rotation writes the issuer keys, only the log writer reads the log signing key', () => {
  const holders = (action: string, secret: string) =>
    identityStatements()
      .filter((x) => x.statement.Effect === 'Allow' && asList(x.statement.Action).includes(action) && asList(x.statement.Resource).includes(secretArn(secret)))
      .map((x) => x.role)
      .sort();
  expect(holders('secretsmanager:GetSecretValue', SECRET_NAMES.logSigningKey)).toEqual([ROLE_NAMES.logWriter]);
  expect(holders('secretsmanager:PutSecretValue', SECRET_NAMES.logSigningKey)).toEqual([]);
  expect(holders('secretsmanager:PutSecretValue', SECRET_NAMES.issuerKeys)).toEqual([ROLE_NAMES.rotation]);
  expect(holders('secretsmanager:GetSecretValue', SECRET_NAMES.issuerKeys)).toEqual([ROLE_NAMES.issuer, ROLE_NAMES.rotation].sort());
});

test('flow-log delivery: the delivery role may write only the flow-log group', () => {
  const statements = identityStatements().filter((x) => x.role === FLOW_LOGS_ROLE_NAME).map((x) => x.statement);
  expect(statements).toEqual([
    { Sid: 'WriteFlowLogGroup', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'], Resource: `arn:aws:logs:${region}:${account}:log-group:${FLOW_LOG_GROUP_NAME}:*` },
  ]);
});

test('deployer keys: it may create only single-region AWS_KMS keys of the two frozen shapes, in this region', () => {
  const creates = deployerStatements().filter((st) => st.Effect === 'Allow' && asList(st.Action).some((a: string) => a.startsWith('kms:')));
  expect(creates).toEqual([
    {
      Sid: 'CreateOnlyFrozenKeyShapes',
      Effect: 'Allow',
      Action: 'kms:CreateKey',
      Resource: '*',
      Condition: {
        StringEquals: { 'aws:RequestedRegion': region, 'kms:KeySpec': ['ECC_NIST_P256', 'SYMMETRIC_DEFAULT'], 'kms:KeyUsage': ['KEY_AGREEMENT', 'ENCRYPT_DECRYPT'], 'kms:KeyOrigin': 'AWS_KMS' },
        Bool: { 'kms:MultiRegion': 'false' },
      },
    },
  ]);
});

test('deployer denials: every way out of the VPC, every way to widen a key, every change to the foundation, destroying state and touching secret values are denied', () => {
  const denied = (sid: string) => deployerStatements().find((st) => st.Sid === sid);
  expect(denied('NeverOpenTheNetwork')).toMatchObject({ Effect: 'Deny', Action: [...DEPLOYER_DENIED_NETWORK_ACTIONS], Resource: '*' });
  expect(denied('NeverWidenAKey')).toMatchObject({ Effect: 'Deny', Action: [...DEPLOYER_DENIED_KEY_ACTIONS], Resource: '*' });
  for (const action of FROZEN_ACTIONS) expect(DEPLOYER_DENIED_KEY_ACTIONS).toContain(action);
  expect(denied('NeverChangeTheFoundation')).toMatchObject({
    Effect: 'Deny',
    Action: [...DEPLOYER_DENIED_IAM_ACTIONS],
    Resource: [`arn:aws:iam::${account}:role/pp-*`, `arn:aws:iam::${account}:policy/pp-*`, `arn:aws:iam::${account}:instance-profile/pp-*`],
  });
  // #14 allowed endpoints to KMS, S3 and DynamoDB only; EC2 joins on purpose (the gateway's worker discovery).
  expect(ENDPOINT_SERVICES).toEqual(['kms', 's3', 'dynamodb', 'ec2']);
  expect(denied('EndpointsOnlyForKmsS3DynamoDbAndEc2')).toEqual({
    Sid: 'EndpointsOnlyForKmsS3DynamoDbAndEc2',
    Effect: 'Deny',
    Action: 'ec2:CreateVpcEndpoint',
    Resource: `arn:aws:ec2:${region}:${account}:vpc-endpoint/*`,
    Condition: { StringNotEquals: { 'ec2:VpceServiceName': ENDPOINT_SERVICES.map((svc) => `com.amazonaws.${region}.${svc}`) } },
  });
  expect(denied('NeverDestroyState')).toEqual({ Sid: 'NeverDestroyState', Effect: 'Deny', Action: [...DEPLOYER_DENIED_DESTRUCTIVE_ACTIONS], Resource: '*' });
  expect(DEPLOYER_DENIED_DESTRUCTIVE_ACTIONS).toEqual(expect.arrayContaining(['cloudtrail:StopLogging', 'cloudtrail:DeleteTrail', 'dynamodb:DeleteTable', 's3:DeleteBucket']));
  expect(denied('NeverReadOrSetSecretValues')).toEqual({ Sid: 'NeverReadOrSetSecretValues', Effect: 'Deny', Action: [...DEPLOYER_DENIED_SECRET_ACTIONS], Resource: '*' });
  // Nothing the deployer is allowed overlaps with what it is denied.
  const allowed = deployerStatements().filter((st) => st.Effect === 'Allow').flatMap((st) => asList(st.Action));
  for (const action of [...DEPLOYER_DENIED_NETWORK_ACTIONS, ...DEPLOYER_DENIED_KEY_ACTIONS, ...DEPLOYER_DENIED_IAM_ACTIONS, ...DEPLOYER_DENIED_DESTRUCTIVE_ACTIONS, ...DEPLOYER_DENIED_SECRET_ACTIONS]) {
    expect(allowed).not.toContain(action);
  }
  // No object or item access at all: the deployer reads only code bundles from the CDK asset bucket.
  expect(allowed.filter((a: string) => /^(s3:(Get|Put|Delete)Object|dynamodb:(Get|Put|Update|Delete)Item|dynamodb:(Query|Scan))/.test(a))).toEqual(['s3:GetObject', 's3:GetObjectVersion']);
});

test('deployer IAM: its only IAM permissions pass fixed roles, each to its one service; it creates no role', () => {
  const iamAllows = deployerStatements().filter((st) => st.Effect === 'Allow' && asList(st.Action).some((a: string) => a.startsWith('iam:')));
  const role = (name: string) => `arn:aws:iam::${account}:role/${name}`;
  expect(iamAllows).toEqual([
    {
      Sid: 'PassFlowLogsRoleToFlowLogsOnly',
      Effect: 'Allow',
      Action: 'iam:PassRole',
      Resource: role(FLOW_LOGS_ROLE_NAME),
      Condition: { StringEquals: { 'iam:PassedToService': 'vpc-flow-logs.amazonaws.com' } },
    },
    {
      Sid: 'PassFunctionRolesToLambdaOnly',
      Effect: 'Allow',
      Action: 'iam:PassRole',
      Resource: [ROLE_NAMES.gateway, ROLE_NAMES.issuer, ROLE_NAMES.rotation, ROLE_NAMES.logWriter].map(role),
      Condition: { StringEquals: { 'iam:PassedToService': 'lambda.amazonaws.com' } },
    },
    {
      Sid: 'PassWorkerRoleToEc2Only',
      Effect: 'Allow',
      Action: 'iam:PassRole',
      Resource: role(ROLE_NAMES.worker),
      Condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
    },
  ]);
});

test('deployer resources: functions, tables, secrets, buckets, schedules and the trail only by their fixed names', () => {
  const resourcesOf = (sid: string) => asList(deployerStatements().find((st) => st.Sid === sid)!.Resource);
  expect(resourcesOf('ManageOwnFunctions')).toEqual(Object.values(FUNCTION_NAMES).map((fn) => `arn:aws:lambda:${region}:${account}:function:${fn}`));
  expect(resourcesOf('ManageTables')).toEqual(Object.values(TABLE_NAMES).map(tableArn));
  expect(resourcesOf('ManageSecretsNotTheirValues')).toEqual(Object.values(SECRET_NAMES).map(secretArn));
  expect(resourcesOf('ManageBuckets')).toEqual([buckets.log, buckets.releases].map((b) => `arn:aws:s3:::${b}`));
  expect(resourcesOf('ManageSchedules')).toEqual(['pp-log-writer-hourly', 'pp-issuer-rotation-hourly'].map((r) => `arn:aws:events:${region}:${account}:rule/${r}`));
  expect(resourcesOf('ManageAuditTrail')).toEqual([`arn:aws:cloudtrail:${region}:${account}:trail/pp-key-audit`]);
  expect(resourcesOf('ReadFunctionCodeAssets')).toEqual([`arn:aws:s3:::cdk-hnb659fds-assets-${account}-${region}/*`]);
});

test('deployer launches only worker instances: the configured type with IMDSv2 and hop limit 1, this account\'s images, encrypted volumes', () => {
  const launches = deployerStatements().filter((st) => asList(st.Action).includes('ec2:RunInstances'));
  expect(launches.map((st) => st.Sid)).toEqual(['LaunchOnlyWorkerInstances', 'LaunchOnlyEncryptedVolumes', 'LaunchOnlyOwnImages', 'LaunchIntoOwnNetwork']);
  expect(launches[0].Resource).toBe(`arn:aws:ec2:${region}:${account}:instance/*`);
  expect(launches[0].Condition).toEqual({
    StringEquals: { 'ec2:InstanceType': EXAMPLE_CONFIG.workers.instanceType, 'ec2:MetadataHttpTokens': 'required' },
    NumericLessThanEquals: { 'ec2:MetadataHttpPutResponseHopLimit': '1' },
  });
  expect(launches[1]).toMatchObject({ Resource: `arn:aws:ec2:${region}:${account}:volume/*`, Condition: { Bool: { 'ec2:Encrypted': 'true' } } });
  expect(launches[2]).toMatchObject({ Resource: `arn:aws:ec2:${region}::image/*`, Condition: { StringEquals: { 'ec2:Owner': account } } });
  expect(asList(launches[3].Resource)).not.toContain(`arn:aws:ec2:${region}:${account}:instance/*`);
  expect(launches[3].Condition).toBeUndefined();
});

test('deployer handler permissions: what CloudFormation\'s LogGroup and VPC handlers call (TagResource for stack tags only, GetDataProtectionPolicy, DescribeNetworkAcls)', () => {
  const groups = [FLOW_LOG_GROUP_NAME, ...Object.values(FUNCTION_NAMES).map((fn) => `/aws/lambda/${fn}`), '/pp/gateway/api-access'].map((g) => `arn:aws:logs:${region}:${account}:log-group:${g}`);
  const bySid = (sid: string) => deployerStatements().find((st) => st.Sid === sid)!;
  expect(bySid('TagLogGroupsWithStackTagsOnly')).toEqual({
    Sid: 'TagLogGroupsWithStackTagsOnly',
    Effect: 'Allow',
    Action: 'logs:TagResource',
    Resource: groups.flatMap((g) => [g, `${g}:*`]),
    Condition: { 'ForAllValues:StringLike': { 'aws:TagKeys': 'aws:cloudformation:*' }, Null: { 'aws:TagKeys': 'false' } },
  });
  for (const sid of ['ManageFlowLogGroup', 'ManageFunctionAndApiLogGroups']) expect(asList(bySid(sid).Action)).toContain('logs:GetDataProtectionPolicy');
  const network = deployerStatements().filter((st) => st.Effect === 'Allow' && asList(st.Action).includes('ec2:DescribeNetworkAcls'));
  expect(network.map((st) => st.Condition)).toEqual([{ StringEquals: { 'aws:RequestedRegion': region } }]);
});

test('deployer network scope: EC2 creates need pp:stack=PpNetwork in the request and the tagged VPC; changes, deletions and re-tagging only tagged resources', () => {
  const ec2 = (type: string) => `arn:aws:ec2:${region}:${account}:${type}/*`;
  const st = deployerStatements();
  const bySid = (sid: string) => st.find((x) => x.Sid === sid)!;
  const tagged = (value: string | string[]) => ({ StringEquals: { 'aws:ResourceTag/pp:stack': value } });
  // No EC2 call that changes something is allowed on "*" any more.
  const allowedOnStar = st.filter((x) => x.Effect === 'Allow' && x.Resource === '*').flatMap((x) => asList(x.Action));
  for (const action of DEPLOYER_NETWORK_ACTIONS.filter((a) => !a.startsWith('ec2:Describe'))) expect(allowedOnStar).not.toContain(action);
  const creates: [string, string, string][] = [
    ['CreateTaggedVpc', 'ec2:CreateVpc', 'vpc'],
    ['CreateTaggedSubnet', 'ec2:CreateSubnet', 'subnet'],
    ['CreateTaggedRouteTable', 'ec2:CreateRouteTable', 'route-table'],
    ['CreateTaggedSecurityGroup', 'ec2:CreateSecurityGroup', 'security-group'],
    ['CreateTaggedVpcEndpoint', 'ec2:CreateVpcEndpoint', 'vpc-endpoint'],
    ['CreateTaggedVpcFlowLog', 'ec2:CreateFlowLogs', 'vpc-flow-log'],
  ];
  for (const [sid, action, type] of creates) {
    expect(bySid(sid)).toEqual({ Sid: sid, Effect: 'Allow', Action: action, Resource: ec2(type), Condition: { StringEquals: { 'aws:RequestTag/pp:stack': 'PpNetwork' } } });
  }
  expect(bySid('CreateOnlyInsideTheProjectNetwork')).toMatchObject({
    Action: creates.slice(1).map(([, action]) => action),
    Resource: ['vpc', 'subnet', 'route-table', 'security-group'].map(ec2),
    Condition: tagged('PpNetwork'),
  });
  const networkTypes = ['vpc', 'subnet', 'route-table', 'security-group', 'vpc-endpoint', 'vpc-flow-log'];
  expect(bySid('ChangeOnlyTheProjectNetwork')).toMatchObject({ Action: [...DEPLOYER_NETWORK_CHANGES], Resource: networkTypes.map(ec2), Condition: tagged('PpNetwork') });
  expect(bySid('RulesOfTaggedSecurityGroupsOnly')).toMatchObject({ Action: ['ec2:AuthorizeSecurityGroupIngress', 'ec2:AuthorizeSecurityGroupEgress'], Resource: ec2('security-group-rule') });
  expect(bySid('TagOnlyWhenCreating')).toMatchObject({
    Action: 'ec2:CreateTags',
    Condition: { StringEquals: { 'ec2:CreateAction': ['CreateVpc', 'CreateSubnet', 'CreateRouteTable', 'CreateSecurityGroup', 'CreateVpcEndpoint', 'CreateFlowLogs', 'CreateLaunchTemplate', 'RunInstances'] } },
  });
  expect(bySid('RetagOnlyProjectResources')).toMatchObject({ Action: ['ec2:CreateTags', 'ec2:DeleteTags'], Resource: [...networkTypes, 'launch-template'].map(ec2), Condition: tagged(['PpNetwork', 'PpEnclaveWorkers']) });
  expect(bySid('CreateTaggedWorkerLaunchTemplates')).toMatchObject({ Action: 'ec2:CreateLaunchTemplate', Condition: { StringEquals: { 'aws:RequestTag/pp:stack': 'PpEnclaveWorkers' } } });
  expect(bySid('ManageWorkerLaunchTemplates')).toMatchObject({ Resource: ec2('launch-template'), Condition: tagged('PpEnclaveWorkers') });
  // Every EC2 change of a network resource is granted only by the tag-conditioned statement (a rule's own ARN aside).
  for (const action of DEPLOYER_NETWORK_CHANGES) {
    const granting = st.filter((x) => x.Effect === 'Allow' && asList(x.Action).includes(action) && x.Resource !== ec2('security-group-rule'));
    expect([action, granting.map((x) => x.Condition)]).toStrictEqual([action, [tagged('PpNetwork')]]);
  }
});

test('deployer endpoints: ModifyVpcEndpoint is denied, so no deployed stack can open an endpoint policy or add route tables to it', () => {
  const denied = deployerStatements().filter((st) => st.Effect === 'Deny' && asList(st.Action).includes('ec2:ModifyVpcEndpoint'));
  expect(denied.map((st) => [st.Sid, st.Resource, st.Condition])).toEqual([['NeverOpenTheNetwork', '*', undefined]]);
  expect(deployerStatements().filter((st) => st.Effect === 'Allow' && asList(st.Action).includes('ec2:ModifyVpcEndpoint'))).toEqual([]);
});

test('deployer DNS firewall: creates only with pp:stack=PpNetwork, the rest on this account\'s and region\'s firewall resources, no wildcard action', () => {
  const resolver = (type: string) => `arn:aws:route53resolver:${region}:${account}:${type}/*`;
  const bySid = (sid: string) => deployerStatements().find((st) => st.Sid === sid)!;
  expect(bySid('CreateTaggedDnsFirewall')).toMatchObject({
    Action: ['route53resolver:CreateFirewallDomainList', 'route53resolver:CreateFirewallRuleGroup', 'route53resolver:AssociateFirewallRuleGroup', 'route53resolver:TagResource'],
    Resource: ['firewall-domain-list', 'firewall-rule-group', 'firewall-rule-group-association'].map(resolver),
    Condition: { StringEquals: { 'aws:RequestTag/pp:stack': 'PpNetwork' } },
  });
  expect(bySid('ManageDnsFirewall').Resource).toEqual(['firewall-domain-list', 'firewall-rule-group', 'firewall-rule-group-association', 'firewall-config'].map(resolver));
  const resolverActions = deployerStatements().filter((st) => st.Effect === 'Allow').flatMap((st) => asList(st.Action)).filter((a: string) => a.startsWith('route53resolver:'));
  for (const a of resolverActions) expect(a).toMatch(/^route53resolver:[A-Za-z]+Firewall|^route53resolver:(TagResource|UntagResource|ListTagsForResource)$/);
});

test('deploy operator: passes pp-deployer only to CloudFormation, change sets only on the deployer\'s stacks and only as pp-deployer, never a KMS key import, no stack deletion', () => {
  const policies = Object.values(resourcesOfType(s.json.foundation, 'AWS::IAM::ManagedPolicy')).filter((p) => p.Properties.ManagedPolicyName === 'pp-deploy-operator');
  expect(policies).toHaveLength(1);
  const props = policies[0]!.Properties;
  // Attached by an administrator to the CI or operator principal, to no role here.
  expect([props.Roles, props.Users, props.Groups]).toEqual([undefined, undefined, undefined]);
  const st = props.PolicyDocument.Statement as any[];
  const bySid = (sid: string) => st.find((x) => x.Sid === sid);
  const deployer = `arn:aws:iam::${account}:role/${ROLE_NAMES.deployer}`;
  const stacks = ['PpNetwork', 'PpReleaseKeys', 'PpTransparency', 'PpGateway', 'PpEnclaveWorkers'].map((n) => `arn:aws:cloudformation:${region}:${account}:stack/${n}/*`);
  expect(bySid('PassDeployerToCloudFormationOnly')).toEqual({
    Sid: 'PassDeployerToCloudFormationOnly',
    Effect: 'Allow',
    Action: 'iam:PassRole',
    Resource: deployer,
    Condition: { StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } },
  });
  expect(bySid('ChangeSetsOnDeployerStacksAsDeployer')).toEqual({
    Sid: 'ChangeSetsOnDeployerStacksAsDeployer',
    Effect: 'Allow',
    Action: 'cloudformation:CreateChangeSet',
    Resource: stacks,
    Condition: { StringEquals: { 'cloudformation:RoleArn': deployer } },
  });
  expect(bySid('NeverImportAKey')).toEqual({
    Sid: 'NeverImportAKey',
    Effect: 'Deny',
    Action: 'cloudformation:CreateChangeSet',
    Resource: '*',
    Condition: { 'ForAnyValue:StringLike': { 'cloudformation:ImportResourceTypes': ['AWS::KMS::Key', 'AWS::KMS::*'] } },
  });
  expect(bySid('NeverDeployTheseStacksAsAnyoneElse')).toMatchObject({ Effect: 'Deny', Action: 'cloudformation:CreateChangeSet', Resource: stacks, Condition: { StringNotEquals: { 'cloudformation:RoleArn': deployer } } });
  // The foundation and the relay are not among its stacks; no stack is ever deleted, created or updated directly, and no stack policy set.
  const allowed = st.filter((x) => x.Effect === 'Allow');
  for (const x of allowed) for (const r of asList(x.Resource)) expect(r).not.toMatch(/stack\/(PpFoundation|PpRelay)\//);
  const actions = allowed.flatMap((x) => asList(x.Action));
  for (const a of ['cloudformation:DeleteStack', 'cloudformation:CreateStack', 'cloudformation:UpdateStack', 'cloudformation:SetStackPolicy']) expect(actions).not.toContain(a);
  expect(actions.filter((a: string) => a.startsWith('iam:'))).toEqual(['iam:PassRole']);
});

test('deployer region: every Allow with Resource * is bounded to the deployment region (Route 53, a global service, by route53:VPCs)', () => {
  const unbounded = deployerStatements().filter((x) => x.Effect === 'Allow' && x.Resource === '*' && x.Condition?.StringEquals?.['aws:RequestedRegion'] !== region);
  expect(unbounded).toEqual([
    {
      Sid: 'PrivateDnsForInterfaceEndpoints',
      Effect: 'Allow',
      Action: 'route53:AssociateVPCWithHostedZone',
      Resource: '*',
      Condition: { 'ForAllValues:StringLike': { 'route53:VPCs': `VPCId=*,VPCRegion=${region}` }, Null: { 'route53:VPCs': 'false' } },
    },
  ]);
});

test('snapshot: the FoundationStack template', () => {
  expect(s.json.foundation).toMatchSnapshot();
});
