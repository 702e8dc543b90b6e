// EnclaveWorkerStack: one test per rule, on the synthesized template of the example deployment.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseParentConfig } from '../../enclave-app/parent/main';
import { ROLE_NAMES } from '../../protocol';
import { ENCLAVE_CID } from '../../lib/enclave-worker-stack';
import { bucketNames, EXPORT_NAMES, FUNCTION_NAMES, RELEASE_OBJECTS } from '../../lib/names';
import { anotherRelease, EXAMPLE_CONFIG, onlyResourceOfType, resourcesOfType, synthesize, writeDeployment, type Synthesized } from '../helpers/cdk';

const { account, region, workers, network } = EXAMPLE_CONFIG;
const buckets = bucketNames(account, region);
const RELEASE = 'example-2026.11.27-1';
const GROUP = `pp-workers-${RELEASE}-g1`;

let s: Synthesized;
let t: any;
let data: any;
let userData: string;
let group: any;
beforeAll(() => {
  s = synthesize();
  t = s.json.enclaveWorkers;
  data = onlyResourceOfType(t, 'AWS::EC2::LaunchTemplate').Properties.LaunchTemplateData;
  userData = data.UserData['Fn::Base64'];
  group = onlyResourceOfType(t, 'AWS::AutoScaling::AutoScalingGroup');
});

test('termination protection: the workers\' stack is never deleted by accident', () => {
  expect(s.built.enclaveWorkers.terminationProtection).toBe(true);
});

test('one group per live session-key generation, from its own launch template, named after the generation', () => {
  expect(group.Properties.AutoScalingGroupName).toBe(GROUP);
  const templateId = Object.keys(resourcesOfType(t, 'AWS::EC2::LaunchTemplate'))[0]!;
  expect(group.Properties.LaunchTemplate).toEqual({ LaunchTemplateId: { Ref: templateId }, Version: { 'Fn::GetAtt': [templateId, 'LatestVersionNumber'] } });
  expect(onlyResourceOfType(t, 'AWS::EC2::LaunchTemplate').Properties.LaunchTemplateName).toBe(GROUP);
  expect(group.Properties).toMatchObject({ MinSize: String(workers.minInstances), MaxSize: String(workers.maxInstances) });
  expect(group.Properties.DesiredCapacity).toBeUndefined();
});

test('roll-out: two live generations (two releases) give two groups, and the gateway discovers both', () => {
  const next = anotherRelease('2026.12.04-1', 'cd'.repeat(48));
  const rollout = synthesize({
    configPath: writeDeployment((c) => c.releases.push({ manifest: 'releases/2026.12.04-1.json', modelKey: 'live', sessionKeys: [{ generation: 1, notBefore: '2026-12-04T00:00:00Z', state: 'live' }] }), { manifests: [next] }),
  });
  const names = Object.values(resourcesOfType(rollout.json.enclaveWorkers, 'AWS::AutoScaling::AutoScalingGroup')).map((g) => g.Properties.AutoScalingGroupName);
  expect(names).toEqual([GROUP, 'pp-workers-2026.12.04-1-g1']);
  const gateway = Object.values(resourcesOfType(rollout.json.gateway, 'AWS::Lambda::Function')).find((f) => f.Properties.FunctionName === FUNCTION_NAMES.gateway);
  expect(gateway.Properties.Environment.Variables.PP_WORKER_GROUP).toBe(names.join(','));
  const userDataOf = (i: number) => Object.values(resourcesOfType(rollout.json.enclaveWorkers, 'AWS::EC2::LaunchTemplate'))[i].Properties.LaunchTemplateData.UserData['Fn::Base64'];
  expect(userDataOf(1)).toContain(`'${RELEASE_OBJECTS.keyArns('2026.12.04-1', 1)}'`);
});

test('project tag: each launch template carries pp:stack=PpEnclaveWorkers (the deployer changes no other launch template)', () => {
  const template = onlyResourceOfType(t, 'AWS::EC2::LaunchTemplate').Properties;
  expect(template.TagSpecifications).toEqual([{ ResourceType: 'launch-template', Tags: expect.arrayContaining([{ Key: 'pp:stack', Value: 'PpEnclaveWorkers' }]) }]);
});

test('Nitro Enclaves on: the launch template enables enclaves', () => {
  expect(data.EnclaveOptions).toEqual({ Enabled: true });
});

test('IMDSv2 required with a hop limit of 1 (AL2023 defaults to 2), no instance tags in metadata', () => {
  expect(data.MetadataOptions).toEqual({ HttpEndpoint: 'enabled', HttpTokens: 'required', HttpPutResponseHopLimit: 1, InstanceMetadataTags: 'disabled' });
});

test('encrypted EBS: every volume encrypted, gp3, deleted with its instance', () => {
  expect(data.BlockDeviceMappings).toEqual([{ DeviceName: '/dev/xvda', Ebs: { Encrypted: true, VolumeType: 'gp3', VolumeSize: workers.rootVolumeGiB, DeleteOnTermination: true } }]);
});

test('no way in but the gateway: no key pair, no public address, the worker security group only, no rule defined here', () => {
  expect(data.KeyName).toBeUndefined();
  expect(data.NetworkInterfaces).toEqual([{ DeviceIndex: 0, AssociatePublicIpAddress: false, Groups: [{ 'Fn::ImportValue': EXPORT_NAMES.workerSecurityGroupId }] }]);
  expect(data.SecurityGroupIds).toBeUndefined();
  // The only inbound rule is the network stack's: the gateway's security group on the worker port (network-stack.test.ts).
  for (const type of ['AWS::EC2::SecurityGroup', 'AWS::EC2::SecurityGroupIngress', 'AWS::EC2::SecurityGroupEgress']) s.enclaveWorkers.resourceCountIs(type, 0);
  const split = (i: number) => ({ 'Fn::Select': [i, { 'Fn::Split': [',', { 'Fn::ImportValue': EXPORT_NAMES.isolatedSubnetIds }] }] });
  expect(group.Properties.VPCZoneIdentifier).toEqual(EXAMPLE_CONFIG.availabilityZones.map((_, i) => split(i)));
});

test('no SSM session access: the foundation\'s worker profile only, no role, policy or SSM agent setup here', () => {
  expect(data.IamInstanceProfile).toEqual({ Arn: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${account}:instance-profile/${ROLE_NAMES.worker}`]] } });
  for (const type of ['AWS::IAM::Role', 'AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy', 'AWS::IAM::InstanceProfile']) s.enclaveWorkers.resourceCountIs(type, 0);
  for (const template of Object.values(s.json)) expect(JSON.stringify(template)).not.toMatch(/AmazonSSMManagedInstanceCore|amazon-ssm-agent|ssmmessages/);
});

test('the baked AMI and a Nitro Enclaves instance type, from the config; shutdown terminates the instance', () => {
  expect(data.ImageId).toBe(workers.amiId);
  expect(data.InstanceType).toBe(workers.instanceType);
  expect(data.InstanceInitiatedShutdownBehavior).toBe('terminate');
});

test('user data: allocator sized from the config, before the enclave', () => {
  expect(userData).toContain(`memory_mib: ${workers.enclaveMemoryMiB}\ncpu_count: ${workers.enclaveCpuCount}\n`);
  expect(userData.indexOf('systemctl restart nitro-enclaves-allocator.service')).toBeLessThan(userData.indexOf('nitro-cli run-enclave'));
});

test('user data: the AMI\'s vsock-proxy (KMS host only) and parent channel units are enabled, nothing installed', () => {
  expect(userData).toContain('systemctl enable --now pp-vsock-proxy.service pp-parent-channel.service');
  expect(userData).not.toMatch(/\b(dnf|yum|pip3?|npm)\s+install\b/);
  // curl only to the instance metadata service.
  expect([...userData.matchAll(/https?:\/\/[^/\s'"]+/g)].map((m) => m[0])).toEqual(['http://169.254.169.254', 'http://169.254.169.254']);
  expect(userData).not.toContain('vsock-proxy 8000');
});

test('user data: the release from the release bucket only (EIF, parent proxy, key ARNs, sealed model)', () => {
  expect(userData).toContain(`BUCKET='${buckets.releases}'`);
  for (const key of [RELEASE_OBJECTS.eif(RELEASE), RELEASE_OBJECTS.parentProxy(RELEASE), RELEASE_OBJECTS.keyArns(RELEASE, 1), RELEASE_OBJECTS.modelDataKey(RELEASE), RELEASE_OBJECTS.sealedModel(RELEASE)]) {
    expect(userData).toContain(`fetch '${key}'`);
  }
  expect([...userData.matchAll(/s3:\/\/([^/"]+)/g)].map((m) => m[1])).toEqual(['$BUCKET']);
});

test('user data: the enclave in production mode, CID 16, with the configured memory and CPUs (never --debug-mode)', () => {
  expect(userData).toContain(`nitro-cli run-enclave --eif-path "$DIR/enclave.eif" --memory ${workers.enclaveMemoryMiB} --cpu-count ${workers.enclaveCpuCount} --enclave-cid ${ENCLAVE_CID}\n`);
  expect(ENCLAVE_CID).toBe(16);
  expect(userData).not.toMatch(/--debug-mode|--attach-console|nitro-cli console/);
});

test('user data: the parent proxy listens on the instance\'s private address and the worker port, unprivileged, with IMDSv2', () => {
  expect(userData).toContain(`listen: { host, port: ${network.workerPort} }`);
  expect(userData).toContain('enclavePort: 5000');
  expect(userData).toContain('ExecStart=$node $DIR/parent-proxy.js $DIR/parent.json');
  expect(userData).toContain('DynamicUser=yes');
  expect(userData).toMatch(/-X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http:\/\/169\.254\.169\.254\/latest\/api\/token/);
});

test('user data: valid bash, and the parent config it writes is one the parent proxy accepts', () => {
  const syntax = spawnSync('bash', ['-n'], { input: userData, encoding: 'utf8' });
  expect([syntax.status, syntax.stderr]).toEqual([0, '']);
  // Run the script's config writer with a key-ARN file as the publisher writes it.
  const script = /"\$node" -e '([\s\S]*?)' "\$DIR\/key-arns\.json"/.exec(userData)![1]!;
  const dir = mkdtempSync(join(tmpdir(), 'pp-worker-'));
  const arn = (id: string) => `arn:aws:kms:${region}:${account}:key/${id}`;
  writeFileSync(join(dir, 'key-arns.json'), JSON.stringify({ sessionKeyArn: arn('11111111-2222-4333-8444-555555555555'), modelKeyArn: arn('66666666-7777-4888-8999-aaaaaaaaaaaa') }));
  const run = spawnSync(process.execPath, ['-e', script, join(dir, 'key-arns.json'), '10.42.1.17', dir], { encoding: 'utf8' });
  expect(run.status).toBe(0);
  const config = parseParentConfig(run.stdout);
  expect(config).toEqual({
    enclavePort: 5000,
    listen: { host: '10.42.1.17', port: network.workerPort },
    sessionKeyArn: arn('11111111-2222-4333-8444-555555555555'),
    modelKeyArn: arn('66666666-7777-4888-8999-aaaaaaaaaaaa'),
    encryptedModelDataKeyFile: `${dir}/model-data-key.bin`,
    sealedModelFile: `${dir}/model.sealed`,
  });
});

test('health: EC2 health checks, an instance whose enclave stopped powers off (and so is replaced), rolling updates add before they remove', () => {
  expect(group.Properties).toMatchObject({ HealthCheckType: 'EC2', HealthCheckGracePeriod: 300 });
  expect(userData).toContain('nitro-cli describe-enclaves | grep -q \'"State": "RUNNING"\' || systemctl poweroff');
  expect(userData).toContain('systemctl enable --now pp-parent-proxy.service pp-enclave-watchdog.timer');
  expect(group.UpdatePolicy).toEqual({ AutoScalingRollingUpdate: { MaxBatchSize: 1, MinInstancesInService: workers.minInstances, PauseTime: 'PT5M', WaitOnResourceSignals: false } });
  expect(workers.maxInstances).toBeGreaterThan(workers.minInstances);
  s.enclaveWorkers.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 0);
});

test('release bucket: versioned, public access blocked, SSE-S3, TLS only, retained', () => {
  const bucket = onlyResourceOfType(t, 'AWS::S3::Bucket');
  expect(bucket.Properties).toMatchObject({
    BucketName: buckets.releases,
    VersioningConfiguration: { Status: 'Enabled' },
    PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
  });
  expect(bucket).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  const statements = onlyResourceOfType(t, 'AWS::S3::BucketPolicy').Properties.PolicyDocument.Statement;
  expect(statements[0]).toMatchObject({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } });
  expect(statements.filter((st: any) => st.Effect === 'Allow')).toEqual([]);
});

test('release bucket: only the publisher writes releases/, only the model owner models/, nothing elsewhere; the worker reads only through the S3 endpoint', () => {
  const bucketId = Object.keys(resourcesOfType(t, 'AWS::S3::Bucket'))[0]!;
  const objects = (prefix: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, `/${prefix}*`]] });
  const statements = onlyResourceOfType(t, 'AWS::S3::BucketPolicy').Properties.PolicyDocument.Statement;
  const role = (name: string) => `arn:aws:iam::${account}:role/${name}`;
  expect(statements.slice(1)).toEqual([
    { Sid: 'OnlyThePublisherWritesReleases', Effect: 'Deny', Principal: { AWS: '*' }, Action: ['s3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion'], Resource: objects('releases/'), Condition: { StringNotEquals: { 'aws:PrincipalArn': role(ROLE_NAMES.publisher) } } },
    { Sid: 'OnlyTheModelOwnerWritesModels', Effect: 'Deny', Principal: { AWS: '*' }, Action: ['s3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion'], Resource: objects('models/'), Condition: { StringNotEquals: { 'aws:PrincipalArn': role(ROLE_NAMES.modelOwner) } } },
    { Sid: 'NothingOutsideTheTwoFolders', Effect: 'Deny', Principal: { AWS: '*' }, Action: 's3:PutObject', NotResource: [objects('releases/'), objects('models/')] },
    {
      Sid: 'WorkerReadsOnlyThroughTheS3Endpoint',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: ['s3:GetObject', 's3:GetObjectVersion'],
      Resource: objects(''),
      Condition: { StringEquals: { 'aws:PrincipalArn': role(ROLE_NAMES.worker) }, StringNotEquals: { 'aws:SourceVpce': { 'Fn::ImportValue': EXPORT_NAMES.s3EndpointId } } },
    },
  ]);
});

test('cross-stack values: imports only the network\'s subnets, worker security group and S3 endpoint id; exports nothing', () => {
  const imports = [...JSON.stringify(t).matchAll(/"Fn::ImportValue":"([^"]+)"/g)].map((m) => m[1]);
  expect([...new Set(imports)].sort()).toEqual([EXPORT_NAMES.isolatedSubnetIds, EXPORT_NAMES.workerSecurityGroupId, EXPORT_NAMES.s3EndpointId].sort());
  for (const o of Object.values((t.Outputs ?? {}) as Record<string, any>)) expect(o.Export).toBeUndefined();
});

test('snapshot: the EnclaveWorkerStack template', () => {
  expect(t).toMatchSnapshot();
});
