// A KMS key whose policy is set once, exactly, and never edited (DESIGN.md §2).
//
// Built on `kms.CfnKey`, not `kms.Key`: the L2 adds a root `kms:*` statement when no
// policy is given, `kms:Put*`/`kms:Create*` for `admins`, and Allow statements for every
// `grant*` call; the L1 has none of that, so the template carries exactly the policy
// function's output and there is no API on this construct that could add a statement.
// A guard (an aspect that runs after every mutating aspect, Tags included) refuses the
// remaining ways to change the resource: tags on the key or its stack (CloudFormation
// copies stack tags onto keys), raw overrides, or an edited property.
import { AspectPriority, Aspects, CfnDeletionPolicy, RemovalPolicy, Stack, Token, type IAspect } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct, type IConstruct } from 'constructs';
import { jsonEqual, type JsonValue, type KeyPolicy } from '../../protocol';
import { InfrastructureError } from '../errors';

export type FrozenKeyKind = 'session' | 'model';

/** The CloudFormation resource a frozen key must synthesize to, property for property. */
export interface FrozenKeyResource {
  readonly Type: 'AWS::KMS::Key';
  readonly Properties: {
    readonly KeyPolicy: KeyPolicy;
    readonly KeySpec: 'ECC_NIST_P256' | 'SYMMETRIC_DEFAULT';
    readonly KeyUsage: 'KEY_AGREEMENT' | 'ENCRYPT_DECRYPT';
    readonly Origin: 'AWS_KMS';
    readonly MultiRegion: false;
    readonly Enabled: true;
    readonly EnableKeyRotation: false;
    readonly BypassPolicyLockoutSafetyCheck: true;
    readonly PendingWindowInDays: number;
    readonly Description: string;
  };
  /** Removing the key from the template schedules its deletion after PendingWindowInDays. */
  readonly DeletionPolicy: 'Delete';
  readonly UpdateReplacePolicy: 'Delete';
}

/** What a frozen key is, for the post-synthesis check and the released-keys record. */
export interface FrozenKeyDescription {
  readonly logicalId: string;
  readonly kind: FrozenKeyKind;
  readonly releaseId: string;
  /** The session key's rotation generation; null for a model key. */
  readonly generation: number | null;
  readonly pcr0: string;
  readonly expected: FrozenKeyResource;
}

export interface FrozenKeyProps {
  readonly kind: FrozenKeyKind;
  readonly logicalId: string;
  readonly releaseId: string;
  readonly generation: number | null;
  readonly pcr0: string;
  readonly policy: KeyPolicy;
  readonly keySpec: FrozenKeyResource['Properties']['KeySpec'];
  readonly keyUsage: FrozenKeyResource['Properties']['KeyUsage'];
  readonly description: string;
  /** 7 to 30 days (KMS's bounds) between retirement and deletion. */
  readonly pendingWindowDays: number;
}

/** Release ids are lower-case letters, digits, dots and dashes; logical ids are alphanumeric. `.`→`D`, `-`→`H` keeps the mapping one-to-one. */
export function logicalIdPart(releaseId: string): string {
  return releaseId.replace(/\./g, 'D').replace(/-/g, 'H');
}

/** The account and region of the stack, which must be literal: a frozen policy names literal ARNs. */
export function literalEnvironment(scope: IConstruct): { account: string; region: string } {
  const { account, region } = Stack.of(scope);
  if (Token.isUnresolved(account) || Token.isUnresolved(region)) {
    throw new InfrastructureError('CONFIG_INVALID', 'a stack with frozen keys needs an explicit account and region');
  }
  return { account, region };
}

const deepClone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

export abstract class FrozenKmsKey extends Construct {
  /** The L1 resource (also `this.node.defaultChild`). */
  readonly resource: kms.CfnKey;
  /** What this key is and the exact resource it must synthesize to. */
  readonly info: FrozenKeyDescription;

  protected constructor(scope: Construct, id: string, props: FrozenKeyProps) {
    super(scope, id);
    if (!Number.isInteger(props.pendingWindowDays) || props.pendingWindowDays < 7 || props.pendingWindowDays > 30) {
      throw new InfrastructureError('CONFIG_INVALID', 'the pending deletion window is 7 to 30 days');
    }
    const expected: FrozenKeyResource = {
      Type: 'AWS::KMS::Key',
      Properties: {
        KeyPolicy: deepClone(props.policy),
        KeySpec: props.keySpec,
        KeyUsage: props.keyUsage,
        Origin: 'AWS_KMS',
        MultiRegion: false,
        Enabled: true,
        // Asymmetric keys cannot rotate; the model key lives only as long as its release
        // and a rotation would need kms:EnableKeyRotation, which the frozen policy grants no one.
        EnableKeyRotation: false,
        BypassPolicyLockoutSafetyCheck: true,
        PendingWindowInDays: props.pendingWindowDays,
        Description: props.description,
      },
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
    };
    this.info = {
      logicalId: props.logicalId,
      kind: props.kind,
      releaseId: props.releaseId,
      generation: props.generation,
      pcr0: props.pcr0,
      expected,
    };
    const p = expected.Properties;
    this.resource = new kms.CfnKey(this, 'Resource', {
      keyPolicy: deepClone(p.KeyPolicy),
      keySpec: p.KeySpec,
      keyUsage: p.KeyUsage,
      origin: p.Origin,
      multiRegion: p.MultiRegion,
      enabled: p.Enabled,
      enableKeyRotation: p.EnableKeyRotation,
      bypassPolicyLockoutSafetyCheck: p.BypassPolicyLockoutSafetyCheck,
      pendingWindowInDays: p.PendingWindowInDays,
      description: p.Description,
    });
    this.resource.overrideLogicalId(props.logicalId);
    this.resource.applyRemovalPolicy(RemovalPolicy.DESTROY);
    Aspects.of(this).add(new FrozenKeyGuard(this.resource, expected), { priority: AspectPriority.READONLY });
  }

  /** The key's ARN (a CloudFormation attribute). */
  get keyArn(): string {
    return this.resource.attrArn;
  }
}

/**
 * Refuses, at synthesis, anything that would make the key differ from `expected`:
 * tags on the key or its stack, raw overrides, or a property set after construction.
 */
class FrozenKeyGuard implements IAspect {
  constructor(
    private readonly key: kms.CfnKey,
    private readonly expected: FrozenKeyResource,
  ) {}

  visit(node: IConstruct): void {
    if (node !== this.key) return;
    const key = this.key;
    if (key.tags.hasTags() || Stack.of(key).tags.hasTags()) {
      throw new InfrastructureError('KEY_TAGGED', `${key.logicalId}: a frozen key carries no tags (the deployer may not tag, and tags are not part of the released key)`);
    }
    // Raw overrides (addOverride, addPropertyOverride, addDeletionOverride) bypass the typed properties.
    const overrides = (key as unknown as { rawOverrides: Record<string, unknown> }).rawOverrides;
    if (overrides && Object.keys(overrides).length > 0) throw new InfrastructureError('KEY_ALTERED', `${key.logicalId}: overrides on a frozen key`);
    const p = this.expected.Properties;
    const actual: Record<string, unknown> = {
      KeyPolicy: key.keyPolicy,
      KeySpec: key.keySpec,
      KeyUsage: key.keyUsage,
      Origin: key.origin,
      MultiRegion: key.multiRegion,
      Enabled: key.enabled,
      EnableKeyRotation: key.enableKeyRotation,
      BypassPolicyLockoutSafetyCheck: key.bypassPolicyLockoutSafetyCheck,
      PendingWindowInDays: key.pendingWindowInDays,
      Description: key.description,
      RotationPeriodInDays: key.rotationPeriodInDays,
    };
    const want: Record<string, unknown> = { ...p, RotationPeriodInDays: undefined };
    for (const name of Object.keys(want)) {
      const same = name === 'KeyPolicy' ? jsonEqual(actual[name] as JsonValue, want[name] as JsonValue) : actual[name] === want[name];
      if (!same) throw new InfrastructureError('KEY_ALTERED', `${key.logicalId}: ${name} differs from the frozen key's`);
    }
    if (key.cfnOptions.deletionPolicy !== CfnDeletionPolicy.DELETE || key.cfnOptions.updateReplacePolicy !== CfnDeletionPolicy.DELETE) {
      throw new InfrastructureError('KEY_ALTERED', `${key.logicalId}: removal policy changed (retiring a key must schedule its deletion)`);
    }
  }
}
