// The gateway's registry of workers, kept by health checks. Each worker is a parent
// proxy (`/healthz`: ready, release, key id; `/v1/attestation`: the enclave's current
// document). Requests go to a uniformly random healthy worker serving the request's
// key id: never chosen by anything about the request or its sender.

import { randomInt } from 'node:crypto';

export interface WorkerState {
  readonly url: string;
  readonly healthy: boolean;
  readonly releaseId: string | null;
  readonly keyId: number | null;
  /** The enclave's current attestation document, fetched with the health check. */
  readonly attestation: Uint8Array | null;
  readonly checkedAt: number;
}

export interface WorkerRegistryOptions {
  /** The workers' parent-proxy base URLs (Cloud Map / the ASG in AWS, a list locally). */
  readonly discover: () => Promise<readonly string[]> | readonly string[];
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

const MAX_ATTESTATION = 16 * 1024;

export class WorkerRegistry {
  private workers = new Map<string, WorkerState>();

  constructor(private readonly options: WorkerRegistryOptions) {}

  /** Checks every worker once; returns how many are healthy. */
  async refresh(): Promise<number> {
    const urls = [...new Set(await this.options.discover())];
    const states = await Promise.all(urls.map((url) => this.check(url)));
    this.workers = new Map(states.map((s) => [s.url, s]));
    return states.filter((s) => s.healthy).length;
  }

  private async check(url: string): Promise<WorkerState> {
    const now = (this.options.now ?? Date.now)();
    const down: WorkerState = { url, healthy: false, releaseId: null, keyId: null, attestation: null, checkedAt: now };
    const f = this.options.fetch ?? fetch;
    const signal = AbortSignal.timeout(this.options.timeoutMs ?? 2000);
    try {
      const health = await f(`${url}/healthz`, { signal });
      if (health.status !== 200) return down;
      const body = (await health.json()) as { ready?: unknown; releaseId?: unknown; keyId?: unknown };
      if (body.ready !== true || typeof body.releaseId !== 'string' || typeof body.keyId !== 'number' || !Number.isInteger(body.keyId) || body.keyId < 0 || body.keyId > 255) return down;
      const att = await f(`${url}/v1/attestation`, { signal });
      const document = new Uint8Array(await att.arrayBuffer());
      if (att.status !== 200 || document.length === 0 || document.length > MAX_ATTESTATION) return down;
      return { url, healthy: true, releaseId: body.releaseId, keyId: body.keyId, attestation: document, checkedAt: now };
    } catch {
      return down;
    }
  }

  /** Marks a worker down until the next refresh (it failed a request). */
  markDown(url: string): void {
    const w = this.workers.get(url);
    if (w) this.workers.set(url, { ...w, healthy: false });
  }

  healthy(keyId?: number): WorkerState[] {
    return [...this.workers.values()].filter((w) => w.healthy && (keyId === undefined || w.keyId === keyId));
  }

  /** A uniformly random healthy worker for `keyId`, other than `exclude`. */
  pick(keyId: number, exclude: ReadonlySet<string> = new Set()): WorkerState | undefined {
    const candidates = this.healthy(keyId).filter((w) => !exclude.has(w.url));
    return candidates.length === 0 ? undefined : candidates[randomInt(candidates.length)];
  }

  all(): WorkerState[] {
    return [...this.workers.values()];
  }
}
