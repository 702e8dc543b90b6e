// EnclaveWorkerStack: the parent instances of the enclaves, and the release bucket they
// boot from.
//
// One Auto Scaling group per live session-key generation (at most two: a roll-out), because
// an enclave serves exactly one session key (the parent proxy's config names it). A group
// appears when its generation becomes live in the deployment config and goes when it is
// retired, in the same deployment that creates or retires the key. The gateway finds the
// groups' running instances through EC2 (DescribeInstances on the group tag) and health-
// checks each one itself (`/healthz`, attestation), routing only to healthy workers of a
// key's release: the groups need no load balancer and register nothing.
//
// Each instance: the worker AMI (Nitro CLI, vsock-proxy for the regional KMS host only,
// the parent channel; enclave-app/parent/ami/build-ami.sh), Nitro Enclaves on, IMDSv2 with
// a hop limit of 1 (AL2023 defaults to 2, which would let a container on the host reach
// the role's credentials), encrypted volumes, no key pair, no SSM (the role has no SSM
// permission and the VPC no SSM endpoint), in the isolated subnets, reachable only from the
// gateway on the parent proxy's port. User data starts the allocator with the configured
// enclave memory and CPUs, the vsock proxy, fetches the release from the release bucket,
// runs the enclave in production mode (`--enclave-cid 16`, never `--debug-mode`) and the
// parent proxy, and a watchdog that powers the instance off if the enclave stops (the
// launch template makes shutdown terminate, so Auto Scaling's EC2 health check replaces it).
import { CfnOutput, Duration, Fn, RemovalPolicy, Stack, Tags, Validations, type StackProps } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { DeploymentConfig } from './deployment-config';
import { arn, bucketNames, EXPORT_NAMES, PROJECT_TAG_KEY, RELEASE_OBJECTS, ROLE_NAMES, STACK_NAMES, workerGroupName } from './names';

export interface EnclaveWorkerStackProps extends StackProps {
  readonly config: DeploymentConfig;
}

/** The enclave's vsock CID and the parent channel's loopback port (enclave-app/image/pins.json, the AMI's socat unit). */
export const ENCLAVE_CID = 16;
export const PARENT_CHANNEL_PORT = 5000;
/** Where user data puts the release on the instance. */
export const RELEASE_DIR = '/opt/pp/release';

export interface WorkerGroupSpec {
  readonly releaseId: string;
  readonly generation: number;
  readonly name: string;
}

/** One group per live session-key generation, in config order. */
export function liveWorkerGroups(config: DeploymentConfig): WorkerGroupSpec[] {
  return config.releases.flatMap((r) =>
    r.sessionKeys.filter((g) => g.state === 'live').map((g) => ({ releaseId: r.manifest.releaseId, generation: g.generation, name: workerGroupName(r.manifest.releaseId, g.generation) })),
  );
}

/** The boot script of a worker of one generation (bash; every value is fixed at synthesis and checked by the config parser). */
export function workerUserData(config: DeploymentConfig, group: WorkerGroupSpec): string {
  const { region, workers, network } = config;
  const bucket = bucketNames(config.account, region).releases;
  const { releaseId, generation } = group;
  return `#!/bin/bash
# Private Processing enclave worker: release ${releaseId}, session-key generation ${generation} (EnclaveWorkerStack).
set -euo pipefail
readonly REGION='${region}' BUCKET='${bucket}' DIR='${RELEASE_DIR}'

# 1. Enclave memory and CPUs, then (re)start the allocator the AMI enables.
cat > /etc/nitro_enclaves/allocator.yaml <<'YAML'
---
memory_mib: ${workers.enclaveMemoryMiB}
cpu_count: ${workers.enclaveCpuCount}
YAML
systemctl restart nitro-enclaves-allocator.service

# 2. The AMI's units: vsock-proxy (vsock 8000 to kms.${region}.amazonaws.com:443 only) and the parent channel.
systemctl enable --now pp-vsock-proxy.service pp-parent-channel.service

# 3. The release, from the release bucket (S3 gateway endpoint); waits until it is published.
install -d -m 0755 "$DIR"
fetch() { aws s3 cp --only-show-errors --region "$REGION" "s3://$BUCKET/$1" "$DIR/$2"; }
until fetch '${RELEASE_OBJECTS.eif(releaseId)}' enclave.eif &&
  fetch '${RELEASE_OBJECTS.parentProxy(releaseId)}' parent-proxy.js &&
  fetch '${RELEASE_OBJECTS.keyArns(releaseId, generation)}' key-arns.json &&
  fetch '${RELEASE_OBJECTS.modelDataKey(releaseId)}' model-data-key.bin &&
  fetch '${RELEASE_OBJECTS.sealedModel(releaseId)}' model.sealed; do
  sleep 60
done

# 4. The parent proxy's config: this instance's private address (IMDSv2), the gateway's port, the key ARNs.
# (AL2023's nodejs20 package installs node-20; plain node if the AMI links it.)
node=$(command -v node-20 || command -v node)
token=$(curl -sSf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token)
address=$(curl -sSf -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/local-ipv4)
"$node" -e '
const [keys, host, dir] = process.argv.slice(1);
const k = JSON.parse(require("node:fs").readFileSync(keys, "utf8"));
process.stdout.write(JSON.stringify({ enclavePort: ${PARENT_CHANNEL_PORT}, listen: { host, port: ${network.workerPort} }, sessionKeyArn: k.sessionKeyArn, modelKeyArn: k.modelKeyArn,
  encryptedModelDataKeyFile: dir + "/model-data-key.bin", sealedModelFile: dir + "/model.sealed" }));
' "$DIR/key-arns.json" "$address" "$DIR" > "$DIR/parent.json"

# 5. The enclave, in production mode (not debug mode): no console, and its real PCR0.
nitro-cli run-enclave --eif-path "$DIR/enclave.eif" --memory ${workers.enclaveMemoryMiB} --cpu-count ${workers.enclaveCpuCount} --enclave-cid ${ENCLAVE_CID}

# 6. The parent proxy (unprivileged), restarted if it exits.
cat > /etc/systemd/system/pp-parent-proxy.service <<UNIT
[Unit]
Description=Private Processing parent proxy (gateway to enclave)
After=network-online.target pp-parent-channel.service
[Service]
ExecStart=$node $DIR/parent-proxy.js $DIR/parent.json
Restart=always
RestartSec=2
DynamicUser=yes
[Install]
WantedBy=multi-user.target
UNIT

# 7. Watchdog: with no running enclave the instance powers off; shutdown terminates it and Auto Scaling replaces it.
cat > /usr/local/sbin/pp-enclave-watchdog <<'SCRIPT'
#!/bin/bash
nitro-cli describe-enclaves | grep -q '"State": "RUNNING"' || systemctl poweroff
SCRIPT
chmod 0755 /usr/local/sbin/pp-enclave-watchdog
cat > /etc/systemd/system/pp-enclave-watchdog.service <<'UNIT'
[Unit]
Description=Power off when the enclave is not running
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/pp-enclave-watchdog
UNIT
cat > /etc/systemd/system/pp-enclave-watchdog.timer <<'UNIT'
[Unit]
Description=Check the enclave every minute
[Timer]
OnActiveSec=2min
OnUnitActiveSec=1min
[Install]
WantedBy=timers.target
UNIT
systemctl daemon-reload
systemctl enable --now pp-parent-proxy.service pp-enclave-watchdog.timer
`;
}

export class EnclaveWorkerStack extends Stack {
  readonly releaseBucket: s3.Bucket;
  readonly groups: { readonly spec: WorkerGroupSpec; readonly launchTemplate: ec2.LaunchTemplate; readonly group: autoscaling.CfnAutoScalingGroup }[];

  constructor(scope: Construct, id: string, props: EnclaveWorkerStackProps) {
    const { config } = props;
    const { account, region, workers } = config;
    super(scope, id, {
      ...props,
      env: { account, region },
      description: 'Private Processing: the release bucket and one enclave worker group per live session-key generation',
      terminationProtection: true,
    });
    const buckets = bucketNames(account, region);
    const roleArn = (name: string) => arn.role(account, region, name);

    // The release bucket: EIFs, parent proxies and key ARNs (publisher, releases/), sealed
    // models and wrapped data keys (model owner, models/). Nothing in it is secret (the model
    // is sealed under a key only an attested enclave can open) and nothing is trusted (the
    // enclave checks its measurement, key and model hash), but only those two roles write.
    this.releaseBucket = new s3.Bucket(this, 'ReleaseBucket', {
      bucketName: buckets.releases,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ id: 'ExpireOldVersions', noncurrentVersionExpiration: Duration.days(90), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
    });
    const writers: [sid: string, prefix: string, writer: string][] = [
      ['OnlyThePublisherWritesReleases', RELEASE_OBJECTS.publisherPrefix, roleArn(ROLE_NAMES.publisher)],
      ['OnlyTheModelOwnerWritesModels', RELEASE_OBJECTS.modelOwnerPrefix, roleArn(ROLE_NAMES.modelOwner)],
    ];
    for (const [sid, prefix, writer] of writers) {
      this.releaseBucket.addToResourcePolicy(
        new iam.PolicyStatement({
          sid,
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ['s3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion'],
          resources: [this.releaseBucket.arnForObjects(`${prefix}*`)],
          conditions: { StringNotEquals: { 'aws:PrincipalArn': writer } },
        }),
      );
    }
    this.releaseBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'NothingOutsideTheTwoFolders',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:PutObject'],
        notResources: [this.releaseBucket.arnForObjects(`${RELEASE_OBJECTS.publisherPrefix}*`), this.releaseBucket.arnForObjects(`${RELEASE_OBJECTS.modelOwnerPrefix}*`)],
      }),
    );
    // The worker role reads releases only from inside the VPC (review 14 #9): its credentials
    // live on the untrusted parent, and taken elsewhere they fetch nothing here.
    this.releaseBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'WorkerReadsOnlyThroughTheS3Endpoint',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:GetObject', 's3:GetObjectVersion'],
        resources: [this.releaseBucket.arnForObjects('*')],
        conditions: { StringEquals: { 'aws:PrincipalArn': roleArn(ROLE_NAMES.worker) }, StringNotEquals: { 'aws:SourceVpce': Fn.importValue(EXPORT_NAMES.s3EndpointId) } },
      }),
    );
    Validations.of(this.releaseBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'No server access logs: reads are the workers\' boot fetches through the VPC endpoint; every write (publisher and model owner only) is a CloudTrail data event delivered to the auditor (TransparencyStack trail)',
    });

    // Shared by every group: the NetworkStack's worker security group and isolated subnets
    // (named exports; immutable here), the foundation's instance profile, the AMI.
    const workerSecurityGroup = ec2.SecurityGroup.fromSecurityGroupId(this, 'WorkerSecurityGroup', Fn.importValue(EXPORT_NAMES.workerSecurityGroupId), { mutable: false, allowAllOutbound: false });
    const subnets = Fn.split(',', Fn.importValue(EXPORT_NAMES.isolatedSubnetIds), config.availabilityZones.length);
    const instanceProfile = iam.InstanceProfile.fromInstanceProfileName(this, 'WorkerInstanceProfile', ROLE_NAMES.worker);
    const machineImage = ec2.MachineImage.genericLinux({ [region]: workers.amiId });

    this.groups = liveWorkerGroups(config).map((spec) => {
      const scopeOfGroup = new Construct(this, `Workers-${spec.releaseId}-G${spec.generation}`);
      const launchTemplate = new ec2.LaunchTemplate(scopeOfGroup, 'LaunchTemplate', {
        launchTemplateName: spec.name,
        machineImage,
        instanceType: new ec2.InstanceType(workers.instanceType),
        nitroEnclaveEnabled: true,
        requireImdsv2: true,
        httpTokens: ec2.LaunchTemplateHttpTokens.REQUIRED,
        httpEndpoint: true,
        httpPutResponseHopLimit: 1,
        instanceMetadataTags: false,
        associatePublicIpAddress: false,
        instanceInitiatedShutdownBehavior: ec2.InstanceInitiatedShutdownBehavior.TERMINATE,
        ebsOptimized: true,
        blockDevices: [
          {
            deviceName: '/dev/xvda',
            volume: ec2.BlockDeviceVolume.ebs(workers.rootVolumeGiB, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3, deleteOnTermination: true }),
          },
        ],
        securityGroup: workerSecurityGroup,
        instanceProfile,
        userData: ec2.UserData.custom(workerUserData(config, spec)),
      });
      // The deployer changes or deletes only launch templates tagged pp:stack=PpEnclaveWorkers
      // (CDK copies the tag to the instances and volumes the template launches).
      Tags.of(launchTemplate).add(PROJECT_TAG_KEY, STACK_NAMES.enclaveWorkers);
      const group = new autoscaling.CfnAutoScalingGroup(scopeOfGroup, 'Group', {
        autoScalingGroupName: spec.name,
        launchTemplate: { launchTemplateId: launchTemplate.launchTemplateId!, version: launchTemplate.latestVersionNumber },
        minSize: String(workers.minInstances),
        maxSize: String(workers.maxInstances),
        vpcZoneIdentifier: subnets,
        // EC2 status checks; the enclave's own health is the gateway's (it routes around a
        // bad worker) and the watchdog's (it terminates an instance whose enclave stopped).
        healthCheckType: 'EC2',
        healthCheckGracePeriod: 300,
        tags: [{ key: 'Name', value: spec.name, propagateAtLaunch: true }],
      });
      // A new AMI or setting replaces instances one at a time, adding before removing.
      group.cfnOptions.updatePolicy = {
        autoScalingRollingUpdate: { maxBatchSize: 1, minInstancesInService: workers.minInstances, pauseTime: 'PT5M', waitOnResourceSignals: false },
      };
      Validations.of(group).acknowledge(
        { id: 'AwsSolutions-AS3', reason: 'No scaling notifications topic: the gateway\'s health checks and the enclave watchdog decide what serves; scaling activity is in Auto Scaling\'s history and CloudTrail' },
      );
      return { spec, launchTemplate, group };
    });
    new CfnOutput(this, 'ReleaseBucketName', { value: this.releaseBucket.bucketName });
    new CfnOutput(this, 'WorkerGroups', { value: this.groups.length > 0 ? this.groups.map((g) => g.spec.name).join(',') : 'none' });
  }
}
