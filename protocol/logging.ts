// One logger per component, accepting only an allowlist of fields whose values are
// enumerable or numeric: a record can carry an event, a stable code, a status, a
// size bucket, a duration or a count — never request content, tokens, keys or
// addresses, because there is no field to put them in. Anything else is dropped and
// counted, never written.

export interface LogRecord {
  readonly event: string;
  readonly code?: string;
  readonly status?: number;
  readonly bucket?: number;
  readonly ms?: number;
  readonly count?: number;
  readonly releaseId?: string;
  readonly keyId?: number;
}

const EVENT = /^[a-z][a-z_]{0,39}$/;
const CODE = /^[A-Z][A-Z0-9_]{0,47}$/;
const RELEASE = /^[a-z0-9][a-z0-9.-]{0,62}$/;
const NUMERIC_FIELDS = ['status', 'bucket', 'ms', 'count', 'keyId'] as const;

export interface AllowlistLogger {
  log(record: LogRecord): void;
  /** Records refused because a field was not allowed or a value was not of its form. */
  readonly dropped: number;
}

/** A logger for `component` writing one JSON line per accepted record to `sink`. */
export function createLogger(component: string, sink: (line: string) => void, now: () => number = Date.now): AllowlistLogger {
  if (!EVENT.test(component.replace(/-/g, '_'))) throw new Error('invalid component name');
  let dropped = 0;
  return {
    get dropped() {
      return dropped;
    },
    log(record) {
      const out: Record<string, string | number> = { t: Math.floor(now()), component, event: record.event };
      const keys = Object.keys(record);
      const known = new Set<string>(['event', 'code', 'releaseId', ...NUMERIC_FIELDS]);
      let valid = typeof record.event === 'string' && EVENT.test(record.event) && keys.every((k) => known.has(k));
      if (valid && record.code !== undefined) valid = typeof record.code === 'string' && CODE.test(record.code);
      if (valid && record.releaseId !== undefined) valid = typeof record.releaseId === 'string' && RELEASE.test(record.releaseId);
      for (const field of NUMERIC_FIELDS) {
        const v = record[field];
        if (v === undefined) continue;
        if (typeof v !== 'number' || !Number.isFinite(v) || Math.abs(v) > 1e12) valid = false;
        else out[field] = Math.round(v * 1000) / 1000;
      }
      if (!valid) {
        dropped++;
        return;
      }
      if (record.code !== undefined) out.code = record.code;
      if (record.releaseId !== undefined) out.releaseId = record.releaseId;
      sink(JSON.stringify(out));
    },
  };
}
