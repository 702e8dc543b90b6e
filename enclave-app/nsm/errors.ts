import { ProtocolError } from '../../protocol';
import type { NsmErrorCode } from './codec';

/** An error from the Nitro Secure Module (its own ErrorCode names) or from talking to it. */
export class NsmError extends ProtocolError<NsmErrorCode | 'UNAVAILABLE'> {
  readonly area = 'nsm';
}
