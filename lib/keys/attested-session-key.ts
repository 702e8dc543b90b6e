// A release's session key (DESIGN.md §2): an ECC_NIST_P256 KEY_AGREEMENT key whose
// private half never leaves KMS, with exactly attestedKeyPolicy() as its policy: only
// the worker role, only with an attestation of the release's PCR0, may derive a shared
// secret. One per release per rotation generation; a rotation adds a new key.
import type { Construct } from 'constructs';
import { attestedKeyPolicy, ROLE_NAMES } from '../../protocol';
import { FrozenKmsKey, literalEnvironment, logicalIdPart } from './frozen-key';

export interface AttestedSessionKeyProps {
  readonly releaseId: string;
  /** The release's PCR0 (= ImageSha384), from its manifest. */
  readonly pcr0: string;
  readonly generation: number;
  readonly pendingWindowDays: number;
}

export class AttestedSessionKey extends FrozenKmsKey {
  static logicalIdFor(releaseId: string, generation: number): string {
    return `SessionKey${logicalIdPart(releaseId)}G${generation}`;
  }

  constructor(scope: Construct, id: string, props: AttestedSessionKeyProps) {
    const { account, region } = literalEnvironment(scope);
    super(scope, id, {
      kind: 'session',
      logicalId: AttestedSessionKey.logicalIdFor(props.releaseId, props.generation),
      releaseId: props.releaseId,
      generation: props.generation,
      pcr0: props.pcr0,
      policy: attestedKeyPolicy({ pcr0: props.pcr0, account, region, roles: ROLE_NAMES }),
      keySpec: 'ECC_NIST_P256',
      keyUsage: 'KEY_AGREEMENT',
      description: `Private Processing session key, release ${props.releaseId}, generation ${props.generation}`,
      pendingWindowDays: props.pendingWindowDays,
    });
  }
}
