// ReleaseKeysStack: the keys trust domain. For every release in the deployment config,
// one model key while the release is live and one session key per live rotation
// generation. Adding a release or a generation adds a key; marking one retired leaves
// it out of the template, so CloudFormation (as the deployer) schedules its deletion
// after the pending window. Nothing edits a key: the post-synthesis check and the
// released-keys record refuse any change to a key already released.
import { CfnOutput, CfnResource, Stack, type StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { DeploymentConfig } from './deployment-config';
import { AttestedSessionKey } from './keys/attested-session-key';
import type { FrozenKeyDescription, FrozenKmsKey } from './keys/frozen-key';
import { ModelKey } from './keys/model-key';

export interface ReleaseKeysStackProps extends StackProps {
  readonly config: DeploymentConfig;
}

export class ReleaseKeysStack extends Stack {
  /** Every key this stack synthesizes, in config order. */
  readonly keys: readonly FrozenKmsKey[];

  constructor(scope: Construct, id: string, props: ReleaseKeysStackProps) {
    const { config } = props;
    super(scope, id, {
      ...props,
      env: { account: config.account, region: config.region },
      description: 'Private Processing: per-release KMS keys with frozen, attested key policies',
      terminationProtection: true,
    });
    const keys: FrozenKmsKey[] = [];
    for (const release of config.releases) {
      const { releaseId, measurements } = release.manifest;
      const scopeOfRelease = new Construct(this, `Release-${releaseId}`);
      const common = { releaseId, pcr0: measurements.pcr0, pendingWindowDays: config.keys.pendingWindowDays };
      if (release.modelKey === 'live') keys.push(new ModelKey(scopeOfRelease, 'ModelKey', common));
      for (const g of release.sessionKeys) {
        if (g.state === 'live') keys.push(new AttestedSessionKey(scopeOfRelease, `SessionKey-G${g.generation}`, { ...common, generation: g.generation }));
      }
    }
    for (const key of keys) {
      new CfnOutput(this, `${key.info.logicalId}Arn`, { value: key.keyArn, description: key.resource.description });
    }
    // A CloudFormation template needs one resource: when every key is retired, keep the
    // stack (and its termination protection) with a resource that does nothing.
    if (keys.length === 0) new CfnResource(this, 'NoLiveKeys', { type: 'AWS::CloudFormation::WaitConditionHandle' });
    this.keys = keys;
  }

  /** What each key must synthesize to. */
  get keyDescriptions(): FrozenKeyDescription[] {
    return this.keys.map((k) => k.info);
  }
}
