// FoundationStack: one test per rule, on the synthesized template of the example deployment.
import { FROZEN_ACTIONS, ROLE_NAMES } from '../../protocol';
import { DEPLOYER_DENIED_IAM_ACTIONS, DEPLOYER_DENIED_NETWORK_ACTIONS, DEPLOYER_DENIED_KEY_ACTIONS, ENDPOINT_SERVICES } from '../../lib/foundation-stack';
import { FLOW_LOGS_ROLE_NAME, FLOW_LOG_GROUP_NAME } from '../../lib/names';
import { EXAMPLE_CONFIG, resourcesOfType, synthesize, type Synthesized } from '../helpers/cdk';

const { account, region } = EXAMPLE_CONFIG;
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

test('lambda trust: the rotation and log-writer roles may be assumed only by Lambda in this account', () => {
  for (const name of [ROLE_NAMES.rotation, ROLE_NAMES.logWriter]) {
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

test('least privilege: the worker, publisher and model owner hold no identity policy (each key policy names them directly)', () => {
  const holders = new Set(identityStatements().map((x) => x.role));
  for (const name of [ROLE_NAMES.worker, ROLE_NAMES.publisher, ROLE_NAMES.modelOwner]) expect([name, holders.has(name)]).toEqual([name, false]);
  for (const r of Object.values(roles)) expect(r.ManagedPolicyArns).toBeUndefined();
});

test('lambda logs: the rotation and log-writer roles may write only their own log group', () => {
  for (const [name, fn] of [
    [ROLE_NAMES.rotation, 'pp-issuer-rotation'],
    [ROLE_NAMES.logWriter, 'pp-log-writer'],
  ] as const) {
    const statements = identityStatements().filter((x) => x.role === name).map((x) => x.statement);
    expect(statements).toEqual([
      { Sid: 'WriteOwnLogs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: `arn:aws:logs:${region}:${account}:log-group:/aws/lambda/${fn}:log-stream:*` },
    ]);
  }
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

test('deployer denials: every way out of the VPC, every way to widen a key and every change to the foundation is denied', () => {
  const denied = (sid: string) => deployerStatements().find((st) => st.Sid === sid);
  expect(denied('NeverOpenTheNetwork')).toMatchObject({ Effect: 'Deny', Action: [...DEPLOYER_DENIED_NETWORK_ACTIONS], Resource: '*' });
  expect(denied('NeverWidenAKey')).toMatchObject({ Effect: 'Deny', Action: [...DEPLOYER_DENIED_KEY_ACTIONS], Resource: '*' });
  for (const action of FROZEN_ACTIONS) expect(DEPLOYER_DENIED_KEY_ACTIONS).toContain(action);
  expect(denied('NeverChangeTheFoundation')).toMatchObject({
    Effect: 'Deny',
    Action: [...DEPLOYER_DENIED_IAM_ACTIONS],
    Resource: [`arn:aws:iam::${account}:role/pp-*`, `arn:aws:iam::${account}:policy/pp-*`, `arn:aws:iam::${account}:instance-profile/pp-*`],
  });
  expect(denied('EndpointsOnlyForKmsS3AndDynamoDb')).toEqual({
    Sid: 'EndpointsOnlyForKmsS3AndDynamoDb',
    Effect: 'Deny',
    Action: 'ec2:CreateVpcEndpoint',
    Resource: `arn:aws:ec2:${region}:${account}:vpc-endpoint/*`,
    Condition: { StringNotEquals: { 'ec2:VpceServiceName': ENDPOINT_SERVICES.map((svc) => `com.amazonaws.${region}.${svc}`) } },
  });
  // Nothing the deployer is allowed overlaps with what it is denied.
  const allowed = deployerStatements().filter((st) => st.Effect === 'Allow').flatMap((st) => asList(st.Action));
  for (const action of [...DEPLOYER_DENIED_NETWORK_ACTIONS, ...DEPLOYER_DENIED_KEY_ACTIONS, ...DEPLOYER_DENIED_IAM_ACTIONS]) expect(allowed).not.toContain(action);
});

test('deployer IAM: its only IAM permission is passing the flow-log role to VPC Flow Logs', () => {
  const iamAllows = deployerStatements().filter((st) => st.Effect === 'Allow' && asList(st.Action).some((a: string) => a.startsWith('iam:')));
  expect(iamAllows).toEqual([
    {
      Sid: 'PassFlowLogsRoleToFlowLogsOnly',
      Effect: 'Allow',
      Action: 'iam:PassRole',
      Resource: `arn:aws:iam::${account}:role/${FLOW_LOGS_ROLE_NAME}`,
      Condition: { StringEquals: { 'iam:PassedToService': 'vpc-flow-logs.amazonaws.com' } },
    },
  ]);
});

test('deployer region: every Allow with Resource * is bounded to the deployment region (Route 53, a global service, aside)', () => {
  const unbounded = deployerStatements().filter((x) => x.Effect === 'Allow' && x.Resource === '*' && x.Condition?.StringEquals?.['aws:RequestedRegion'] !== region);
  expect(unbounded).toEqual([{ Sid: 'PrivateDnsForInterfaceEndpoints', Effect: 'Allow', Action: 'route53:AssociateVPCWithHostedZone', Resource: '*' }]);
});

test('snapshot: the FoundationStack template', () => {
  expect(s.json.foundation).toMatchSnapshot();
});
