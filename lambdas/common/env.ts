// Lambda configuration from the environment, checked at start: a function missing a
// setting fails its initialisation (fail closed) instead of serving half-configured.
export class ConfigError extends Error {
  override get name(): string {
    return 'ConfigError';
  }
}

export function required(env: Readonly<Record<string, string | undefined>>, name: string, pattern?: RegExp): string {
  const value = env[name];
  if (value === undefined || value === '') throw new ConfigError(`${name} is not set`);
  if (pattern && !pattern.test(value)) throw new ConfigError(`${name} is malformed`);
  return value;
}

export function requiredInteger(env: Readonly<Record<string, string | undefined>>, name: string, min: number, max: number): number {
  const value = Number(required(env, name, /^\d{1,9}$/));
  if (value < min || value > max) throw new ConfigError(`${name} is out of range`);
  return value;
}

export const ACCOUNT_ID = /^\d{12}$/;
export const ROLE_NAME = /^[A-Za-z0-9+=,.@_-]{1,64}$/;
export const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
export const TABLE = /^[A-Za-z0-9_.-]{3,255}$/;
export const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
export const HTTPS_URL = /^https:\/\/[A-Za-z0-9.-]+(?::\d+)?(?:\/[A-Za-z0-9._~\/-]*)?$/;
