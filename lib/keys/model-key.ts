// A release's model key (DESIGN.md §2): a symmetric key with exactly modelKeyPolicy() as
// its policy. The model owner may only Encrypt (it wraps the model's data key once);
// only the worker role with an attestation of the release's PCR0 may Decrypt.
import { Validations } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { modelKeyPolicy, ROLE_NAMES } from '../../protocol';
import { FrozenKmsKey, literalEnvironment, logicalIdPart } from './frozen-key';

export interface ModelKeyProps {
  readonly releaseId: string;
  readonly pcr0: string;
  readonly pendingWindowDays: number;
}

export class ModelKey extends FrozenKmsKey {
  static logicalIdFor(releaseId: string): string {
    return `ModelKey${logicalIdPart(releaseId)}`;
  }

  constructor(scope: Construct, id: string, props: ModelKeyProps) {
    const { account, region } = literalEnvironment(scope);
    super(scope, id, {
      kind: 'model',
      logicalId: ModelKey.logicalIdFor(props.releaseId),
      releaseId: props.releaseId,
      generation: null,
      pcr0: props.pcr0,
      policy: modelKeyPolicy({ pcr0: props.pcr0, account, region, roles: ROLE_NAMES }),
      keySpec: 'SYMMETRIC_DEFAULT',
      keyUsage: 'ENCRYPT_DECRYPT',
      description: `Private Processing model key, release ${props.releaseId}`,
      pendingWindowDays: props.pendingWindowDays,
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-KMS5',
      reason:
        'A frozen per-release key: rotation would need kms:EnableKeyRotation, which its policy grants no one. It lives only as long as its release ' +
        '(a new release gets a new key), and automatic rotation keeps every old key version usable for Decrypt, so it would not limit exposure.',
    });
  }
}
