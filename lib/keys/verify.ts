// The check after synthesis: every key in the synthesized template is exactly the
// resource its construct was built to emit (the policy function's output, property for
// property), and there is no other key. It reads the template CloudFormation will get,
// so it also catches what no construct API shows (an override, an aspect, a tag).
import { jsonEqual, type JsonValue } from '../../protocol';
import { InfrastructureError } from '../errors';
import type { FrozenKeyDescription } from './frozen-key';

export interface TemplateLike {
  readonly Resources?: Record<string, Record<string, unknown>>;
}

/** The parts of a key resource that decide what CloudFormation creates. */
export function keyResourceCore(resource: Record<string, unknown>): JsonValue {
  const { Type, Properties, DeletionPolicy, UpdateReplacePolicy } = resource;
  return { Type, Properties, DeletionPolicy, UpdateReplacePolicy } as JsonValue;
}

/** Resource attributes a frozen key may carry besides its core (Metadata: the construct path, cdk-nag's audit trail). */
const HARMLESS_ATTRIBUTES = ['Metadata'];

export function verifySynthesizedKeys(template: TemplateLike, keys: readonly FrozenKeyDescription[]): void {
  const resources = template.Resources ?? {};
  for (const key of keys) {
    const resource = resources[key.logicalId];
    if (!resource) throw new InfrastructureError('KEY_ALTERED', `${key.logicalId} is missing from the template`);
    for (const attribute of Object.keys(resource)) {
      if (!['Type', 'Properties', 'DeletionPolicy', 'UpdateReplacePolicy', ...HARMLESS_ATTRIBUTES].includes(attribute)) {
        throw new InfrastructureError('KEY_ALTERED', `${key.logicalId} has a ${attribute} attribute`);
      }
    }
    if (!jsonEqual(keyResourceCore(resource), key.expected as unknown as JsonValue)) {
      throw new InfrastructureError('KEY_ALTERED', `${key.logicalId} differs from its frozen definition (policy or properties)`);
    }
  }
  const expected = new Set(keys.map((k) => k.logicalId));
  for (const [logicalId, resource] of Object.entries(resources)) {
    const type = resource.Type;
    if (typeof type === 'string' && type.startsWith('AWS::KMS::') && type !== 'AWS::KMS::Alias' && !expected.has(logicalId)) {
      throw new InfrastructureError('KEY_ALTERED', `${logicalId} (${type}) is not a frozen key of this deployment`);
    }
  }
}
