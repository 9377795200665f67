// Configuration from the environment, checked whole at start-up so a bad value stops the process with one clear line.
import { DEFAULT_RATE_LIMITS, type RateLimitConfig } from './http/rateLimits.js';
import { BOOTSTRAP_SECRET_PATTERN } from './tokens/secrets.js';
import { DEFAULT_AUTH_CACHE_SIZE } from './tokens/service.js';

export interface Config {
  port: number;
  host: string;
  databaseUrl: string;
  /** The bootstrap admin secret to use on an empty store; undefined: generate one. */
  bootstrapToken: string | undefined;
  logLevel: string;
  /** Check answers against the spec too (every NODE_ENV but production). */
  validateResponses: boolean;
  rateLimits: RateLimitConfig;
  /** Authenticated tokens kept in memory (AUTH_CACHE_SIZE); 0 disables. */
  authCacheSize: number;
  /** Browser origins allowed by CORS (CORS_ORIGINS, comma-separated); empty: CORS off. */
  corsOrigins: string[];
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export class ConfigError extends Error {}

/** CORS_ORIGINS: comma-separated origins such as https://app.example.com; each must be scheme://host[:port]. */
function readOrigins(raw: string | undefined): string[] {
  const origins = (raw ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || parsed.origin !== origin) {
      throw new ConfigError(
        `CORS_ORIGINS: ${JSON.stringify(origin)} is not an origin (scheme://host[:port])`,
      );
    }
  }
  return origins;
}

/** A whole number ≥ 0 from the environment, or the default when unset. */
function readCount(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d{1,9}$/.test(raw))
    throw new ConfigError(`${name}: ${JSON.stringify(raw)} is not a whole number ≥ 0`);
  return Number(raw);
}

export function readConfig(env: NodeJS.ProcessEnv): Config {
  const port = Number(env.PORT ?? '3000');
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`PORT: ${JSON.stringify(env.PORT)} is not a port number (0-65535)`);
  }
  const logLevel = env.LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL: ${JSON.stringify(logLevel)} is not one of ${LOG_LEVELS.join(', ')}`);
  }
  const bootstrapToken = env.BOOTSTRAP_TOKEN;
  if (bootstrapToken !== undefined && !BOOTSTRAP_SECRET_PATTERN.test(bootstrapToken)) {
    // Never echo the value: it is a secret, even when malformed.
    throw new ConfigError('BOOTSTRAP_TOKEN: must be at least 32 characters of A-Z, a-z, 0-9, _ and -');
  }
  return {
    port,
    host: env.HOST ?? '127.0.0.1',
    databaseUrl: env.DATABASE_URL ?? 'sqlite:./data/tokens.db',
    bootstrapToken,
    logLevel,
    validateResponses: env.NODE_ENV !== 'production',
    authCacheSize: readCount(env, 'AUTH_CACHE_SIZE', DEFAULT_AUTH_CACHE_SIZE),
    corsOrigins: readOrigins(env.CORS_ORIGINS),
    rateLimits: {
      failedAuthPerMinute: readCount(
        env,
        'RATE_LIMIT_FAILED_AUTH_PER_MIN',
        DEFAULT_RATE_LIMITS.failedAuthPerMinute,
      ),
      requestsPerTokenPerSecond: readCount(
        env,
        'RATE_LIMIT_PER_TOKEN_PER_SEC',
        DEFAULT_RATE_LIMITS.requestsPerTokenPerSecond,
      ),
    },
  };
}
