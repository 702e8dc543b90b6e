// The enclave's life: boot, then serve and re-check every few minutes.
//
// Boot (DESIGN.md §2): read its own PCR0 from the NSM; check its release's session key
// (metadata, no grants, the exact policy for its own PCR0, the public key) and build
// the key configuration itself; have KMS release the model data key to it, decrypt the
// model and check its SHA-256 against the value compiled into the bundle; attest with
// user_data binding all of it. Only then does it serve. Any failure: it does not serve.
//
// Every `reattestIntervalMs` (3 minutes): re-attest and re-run the key checks; if the
// key, its policy or anything else no longer matches, it stops serving for good.

import {
  encodeUserData,
  equalBytes,
  openModel,
  toHex,
  userDataFor,
  type AllowlistLogger,
  type GatewayKey,
  type KeyConfig,
  ProtocolError,
} from '../../protocol';
import type { NsmClient } from '../nsm/client';
import type { EnclaveKms } from '../kms/client';
import { checkSessionKey, decryptModelDataKey, type CheckedSessionKey } from '../kms/key-check';

export interface EnclaveConfig {
  readonly releaseId: string;
  readonly sessionKeyArn: string;
  readonly modelKeyArn: string;
  /** The model data key as the model owner wrapped it (KMS ciphertext blob). */
  readonly encryptedModelDataKey: Uint8Array;
  /** The model file, sealed under the data key. */
  readonly sealedModel: Uint8Array;
  /** Compiled into the bundle (so part of PCR0). */
  readonly modelSha256: string;
  readonly reattestIntervalMs?: number;
  /** How long an attestation's binding holds (its not_after). Default 10 minutes. */
  readonly bindingLifetimeMs?: number;
}

export class EnclaveBootError extends ProtocolError<string> {
  readonly area = 'enclave-boot';
}

export interface EnclaveDeps {
  readonly nsm: NsmClient;
  readonly kms: EnclaveKms;
  readonly config: EnclaveConfig;
  readonly logger: AllowlistLogger;
  readonly now?: () => number;
}

export interface EnclaveState {
  readonly serving: boolean;
  readonly keyConfig: KeyConfig;
  readonly attestation: Uint8Array;
  readonly model: Uint8Array;
}

function codeOf(err: unknown): string {
  return err instanceof ProtocolError ? err.code : 'INTERNAL';
}

export class Enclave {
  private state: EnclaveState;
  private timer: NodeJS.Timeout | undefined;
  private stoppedCode: string | undefined;

  private constructor(
    private readonly deps: EnclaveDeps,
    private readonly pcr0: string,
    private checked: CheckedSessionKey,
    model: Uint8Array,
    attestation: Uint8Array,
  ) {
    this.state = { serving: true, keyConfig: checked.keyConfig, attestation, model };
  }

  private static now(deps: EnclaveDeps): number {
    return (deps.now ?? Date.now)();
  }

  private static async attest(deps: EnclaveDeps, checked: CheckedSessionKey): Promise<Uint8Array> {
    const lifetime = deps.config.bindingLifetimeMs ?? 10 * 60_000;
    const userData = encodeUserData(
      userDataFor({
        keyConfig: checked.keyConfigBytes,
        kmsKeyArn: checked.keyArn,
        keyPolicy: checked.keyPolicy,
        releaseId: deps.config.releaseId,
        policyCheckedAt: checked.checkedAt,
        notAfter: checked.checkedAt + Math.floor(lifetime / 1000),
      }),
    );
    return deps.nsm.attestation({ userData });
  }

  /** Boots, or throws EnclaveBootError with the reason code (the caller exits non-zero). */
  static async boot(deps: EnclaveDeps): Promise<Enclave> {
    const step = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
      try {
        return await work();
      } catch (err) {
        const code = `${name}_${codeOf(err)}`.toUpperCase().replace(/[^A-Z0-9_]/g, '_').slice(0, 48);
        deps.logger.log({ event: 'boot_failed', code });
        throw new EnclaveBootError(code);
      }
    };
    const pcr0 = await step('PCR0', async () => {
      const { data } = await deps.nsm.describePcr(0);
      if (data.every((b) => b === 0)) throw new EnclaveBootError('DEBUG_MODE');
      return toHex(data);
    });
    const checked = await step('SESSION_KEY', () => checkSessionKey(deps.kms, deps.config.sessionKeyArn, pcr0, () => Enclave.now(deps)));
    const model = await step('MODEL', async () => {
      const dataKey = await decryptModelDataKey(deps.kms, deps.config.modelKeyArn, deps.config.encryptedModelDataKey, pcr0);
      try {
        return openModel(dataKey, deps.config.sealedModel, deps.config.modelSha256);
      } finally {
        dataKey.fill(0);
      }
    });
    const attestation = await step('ATTEST', () => Enclave.attest(deps, checked));
    const enclave = new Enclave(deps, pcr0, checked, model, attestation);
    deps.logger.log({ event: 'serving', releaseId: deps.config.releaseId, keyId: checked.keyConfig.keyId });
    return enclave;
  }

  get serving(): boolean {
    return this.state.serving;
  }

  get stopReason(): string | undefined {
    return this.stoppedCode;
  }

  get keyConfig(): KeyConfig {
    return this.state.keyConfig;
  }

  get attestation(): Uint8Array {
    return this.state.attestation;
  }

  get model(): Uint8Array {
    return this.state.model;
  }

  get releaseId(): string {
    return this.deps.config.releaseId;
  }

  /** The OHTTP gateway key: the checked config, and KMS as the DH function. Empty when not serving. */
  keys(): GatewayKey[] {
    return this.state.serving ? [{ config: this.state.keyConfig, dh: this.deps.kms.dhFor(this.checked.keyArn) }] : [];
  }

  /** Re-checks the key and re-attests; on any mismatch, stops serving for good. */
  async reattest(): Promise<boolean> {
    if (!this.state.serving) return false;
    try {
      const checked = await checkSessionKey(this.deps.kms, this.deps.config.sessionKeyArn, this.pcr0, () => Enclave.now(this.deps));
      if (!equalBytes(checked.keyConfigBytes, this.checked.keyConfigBytes)) throw new EnclaveBootError('KEY_CHANGED');
      const attestation = await Enclave.attest(this.deps, checked);
      this.checked = checked;
      this.state = { ...this.state, attestation };
      this.deps.logger.log({ event: 'reattested', keyId: checked.keyConfig.keyId });
      return true;
    } catch (err) {
      const code = codeOf(err);
      // A KMS outage is not a changed key: keep the last good state (its binding ages out).
      if (code === 'UNAVAILABLE') {
        this.deps.logger.log({ event: 'reattest_deferred', code: 'KMS_UNAVAILABLE' });
        return false;
      }
      this.stop(code);
      return false;
    }
  }

  stop(code: string): void {
    this.state = { ...this.state, serving: false };
    this.stoppedCode = code;
    this.stopTimer();
    this.deps.logger.log({ event: 'stopped', code: code.toUpperCase().replace(/[^A-Z0-9_]/g, '_').slice(0, 48) });
  }

  startTimer(): void {
    const interval = this.deps.config.reattestIntervalMs ?? 3 * 60_000;
    this.timer = setInterval(() => void this.reattest(), interval);
    this.timer.unref();
  }

  stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
