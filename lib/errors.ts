// The infrastructure layer's typed errors: the CDK app refuses a deployment it cannot
// stand behind (a bad config, an emulated release outside local mode, a frozen key that
// would change) with one of these codes, before CloudFormation sees anything.
import { ProtocolError } from '../protocol';

export const INFRASTRUCTURE_ERROR_CODES = [
  /** The deployment config is not JSON, or has unknown, missing or duplicate fields. */
  'CONFIG_MALFORMED',
  /** A config field has a value outside its rules (account, region, CIDR, days, …). */
  'CONFIG_INVALID',
  /** A release manifest named by the config does not decode. */
  'MANIFEST_INVALID',
  /** Two releases with the same id, or a key generation numbered out of order. */
  'RELEASES_INVALID',
  /** A manifest of kind `emulated` outside local mode. */
  'EMULATED_RELEASE_OUTSIDE_LOCAL_MODE',
  /** A trusted principal that is `*`, a wildcard, an account root or not a role/user ARN. */
  'UNTRUSTED_PRINCIPAL',
  /** More session keys live at once than a client accepts (DESIGN.md §2: two). */
  'TOO_MANY_LIVE_SESSION_KEYS',
  /** Tags on a frozen key, or on the stack holding it (CloudFormation copies stack tags to keys). */
  'KEY_TAGGED',
  /** A frozen key's policy or properties differ from what its construct was given. */
  'KEY_ALTERED',
  /** The released-keys record is not JSON or not in its format. */
  'RECORD_MALFORMED',
  /** Synthesis would change a key the record lists as released. */
  'RELEASED_KEY_CHANGED',
  /** Synthesis would delete a key the record lists as live without it being retired. */
  'RELEASED_KEY_MISSING',
  /** Synthesis would create a key the record does not list yet. */
  'KEY_NOT_RECORDED',
  /** A key the record lists as retired (its deletion scheduled) is synthesized again. */
  'RETIRED_KEY_REUSED',
] as const;
export type InfrastructureErrorCode = (typeof INFRASTRUCTURE_ERROR_CODES)[number];

export class InfrastructureError extends ProtocolError<InfrastructureErrorCode> {
  readonly area = 'infrastructure';
}
