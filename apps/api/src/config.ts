// Configuration from the environment, checked whole at start-up so a bad value stops the process with one clear line.
import { isIP } from 'node:net';
import { DurationError, parseDuration } from '@api-tokens/client/durations';
import express from 'express';
import { DEFAULT_RATE_LIMITS, type RateLimitConfig } from './http/rateLimits.js';
import {
  DEFAULT_AUDIT_RETENTION_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_EXPIRED_TOKEN_RETENTION_MS,
  DEFAULT_POOL_SIZE,
} from './store/store.js';
import { hasValidChecksum } from './tokens/secrets.js';
import { DEFAULT_AUTH_CACHE_SIZE } from './tokens/service.js';
import { DEFAULT_FIRST_RETRY_MS } from './webhooks/retries.js';

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
  /**
   * AUTH_CACHE_TTL: on PostgreSQL, turns the auth cache on, each entry trusted this long at most
   * (revocations evict it sooner, through the feed); 0 (the default): off. Not used on SQLite,
   * whose cache is exact without it.
   */
  authCacheTtlMs: number;
  /** Browser origins allowed by CORS (CORS_ORIGINS, comma-separated); empty: CORS off. */
  corsOrigins: string[];
  /** Express's `trust proxy` (TRUST_PROXY): which peers may name the client in X-Forwarded-For; false: none. */
  trustProxy: boolean | number | string[];
  /** How long an expired token's row is kept before the store purges it (EXPIRED_TOKEN_RETENTION). */
  expiredTokenRetentionMs: number;
  /** PostgreSQL: connections in the pool (DATABASE_POOL_SIZE). */
  databasePoolSize: number;
  /** PostgreSQL: how long start-up keeps trying to reach the database (DATABASE_CONNECT_TIMEOUT). */
  databaseConnectTimeoutMs: number;
  /** How long an audit event is kept before the store purges it (AUDIT_RETENTION). */
  auditRetentionMs: number;
  /** Serve the API reference at /docs, /openapi.json and /openapi.yaml (DOCS). */
  docs: boolean;
  /** Serve the web console at /console/ (CONSOLE). */
  console: boolean;
  /** Serve Prometheus metrics at /metrics (METRICS), on a listener of their own. */
  metrics: boolean;
  /** The metrics listener's port (METRICS_PORT); 0: any free port. */
  metricsPort: number;
  /** The metrics listener's address (METRICS_HOST): loopback by default, never the API's. */
  metricsHost: string;
  /** The longest a created or regenerated token may live (MAX_TOKEN_LIFETIME); undefined: no cap. */
  maxTokenLifetimeMs: number | undefined;
  /** Where every token event is sent, signed (WEBHOOK_URLS, WEBHOOK_SECRET); undefined: webhooks off. */
  webhooks: WebhookConfig | undefined;
}

export interface WebhookConfig {
  urls: string[];
  /** Standard Webhooks' form: `whsec_` and base64 of 24 to 64 bytes. */
  secret: string;
  /** The first retry's delay before jitter (WEBHOOK_RETRY_BASE); later ones double. */
  firstRetryMs: number;
}

/** Where /metrics is served unless METRICS_PORT and METRICS_HOST say otherwise: the OpenTelemetry Prometheus exporter's port, on loopback only. */
export const DEFAULT_METRICS_PORT = 9464;
export const DEFAULT_METRICS_HOST = '127.0.0.1';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Express's names for address ranges, accepted in TRUST_PROXY beside addresses and subnets. */
const TRUST_PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

export class ConfigError extends Error {}

/**
 * A variable's value, or undefined when unset or empty: `PORT=` in a unit file or a compose file
 * means "not set", never "bind a random port" or "every interface".
 */
function read(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const raw = env[name];
  return raw === '' ? undefined : raw;
}

/** PORT, METRICS_PORT: decimal digits only, so that `0x50` or `1e3` is not quietly some other port. */
function readPort(raw: string | undefined, name = 'PORT', fallback = 3000): number {
  if (raw === undefined) return fallback;
  const port = /^\d{1,5}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(port >= 0 && port <= 65535)) {
    throw new ConfigError(`${name}: ${JSON.stringify(raw)} is not a port number (decimal, 0-65535)`);
  }
  return port;
}

/** HOST, METRICS_HOST: an IP address or a host name, the address to listen on. */
function readHost(raw: string | undefined, name = 'HOST'): string {
  if (raw === undefined) return '127.0.0.1';
  const hostName =
    /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
  if (isIP(raw) === 0 && !hostName.test(raw)) {
    throw new ConfigError(`${name}: ${JSON.stringify(raw)} is not an IP address or a host name`);
  }
  return raw;
}

/**
 * TRUST_PROXY, in Express's own terms: true/false, a hop count, or a comma-separated list of
 * addresses, subnets and the names loopback, linklocal, uniquelocal. Each entry is checked by
 * Express itself, so what passes here is exactly what createApp accepts.
 */
function readTrustProxy(raw: string | undefined): boolean | number | string[] {
  if (raw === undefined || raw === 'false') return false;
  if (raw === 'true') return true;
  if (/^\d{1,9}$/.test(raw)) return Number(raw);
  const entries = raw.split(',').map((entry) => entry.trim());
  const probe = express();
  for (const entry of entries) {
    let valid = entry !== '';
    try {
      if (valid) probe.set('trust proxy', [entry]);
    } catch {
      valid = false;
    }
    if (!valid) {
      throw new ConfigError(
        `TRUST_PROXY: ${JSON.stringify(entry)} is not true, false, a hop count, an address, a subnet ` +
          `(10.0.0.0/8) or one of ${TRUST_PROXY_NAMES.join(', ')}`,
      );
    }
  }
  return entries;
}

/** A duration such as 7d, 36h, 90m, 1h30m or 30s (the grammar the CLI reads too), in milliseconds. */
function readDuration(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  try {
    return parseDuration(raw);
  } catch (err) {
    if (!(err instanceof DurationError)) throw err;
    throw new ConfigError(
      `${name}: ${JSON.stringify(raw)} is not a duration: whole numbers with units d, h, m, s, largest first (7d, 36h, 1h30m)` +
        (err.reason === 'too long' ? '; this one is too long' : ''),
    );
  }
}

/** MAX_TOKEN_LIFETIME: a duration of at least a second (90d); unset: no cap. */
function readMaxLifetime(env: NodeJS.ProcessEnv): number | undefined {
  if (read(env, 'MAX_TOKEN_LIFETIME') === undefined) return undefined;
  const ms = readDuration(env, 'MAX_TOKEN_LIFETIME', 0);
  if (ms < 1000) {
    throw new ConfigError(
      'MAX_TOKEN_LIFETIME: must be at least 1s; leave it unset for no cap on how long a token lives',
    );
  }
  return ms;
}

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

/** A feature switch: on (the default) or off; true and false are taken too. */
function readSwitch(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = read(env, name);
  if (raw === undefined || raw === 'on' || raw === 'true') return true;
  if (raw === 'off' || raw === 'false') return false;
  throw new ConfigError(`${name}: ${JSON.stringify(raw)} is not on or off`);
}

/** A whole number ≥ 0 from the environment, or the default when unset. */
function readCount(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d{1,9}$/.test(raw))
    throw new ConfigError(`${name}: ${JSON.stringify(raw)} is not a whole number ≥ 0`);
  return Number(raw);
}

/** DATABASE_POOL_SIZE: at least one connection; a pool of none could serve nothing. */
function readPoolSize(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_POOL_SIZE;
  if (!/^\d{1,4}$/.test(raw) || Number(raw) < 1)
    throw new ConfigError(`DATABASE_POOL_SIZE: ${JSON.stringify(raw)} is not a whole number from 1 to 9999`);
  return Number(raw);
}

/** WEBHOOK_URLS: comma-separated http or https URLs. */
function readWebhookUrls(raw: string | undefined): string[] {
  const urls = (raw ?? '')
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '');
  for (const url of urls) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
      // The URL may hold credentials: named by its place in the list, never echoed.
      throw new ConfigError(
        `WEBHOOK_URLS: entry ${urls.indexOf(url) + 1} is not an http or https URL (https://host[:port]/path)`,
      );
    }
  }
  return urls;
}

/** Standard Webhooks' secret form: `whsec_` and the base64 of 24 to 64 random bytes. */
export function isWebhookSecret(secret: string): boolean {
  const match = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(secret);
  if (match === null) return false;
  const key = Buffer.from(match[1] as string, 'base64');
  return key.length >= 24 && key.length <= 64 && key.toString('base64') === match[1];
}

/** WEBHOOK_URLS and WEBHOOK_SECRET, both or neither; WEBHOOK_RETRY_BASE. */
function readWebhooks(env: NodeJS.ProcessEnv): WebhookConfig | undefined {
  const urls = readWebhookUrls(read(env, 'WEBHOOK_URLS'));
  const secret = read(env, 'WEBHOOK_SECRET');
  if (urls.length === 0 && secret === undefined) return undefined;
  if (urls.length === 0)
    throw new ConfigError(
      'WEBHOOK_SECRET is set but WEBHOOK_URLS is not: set both to send webhooks, or neither',
    );
  if (secret === undefined)
    throw new ConfigError(
      'WEBHOOK_URLS is set but WEBHOOK_SECRET is not: webhooks are always signed; make a secret with ' +
        '`echo "whsec_$(openssl rand -base64 32)"`',
    );
  if (!isWebhookSecret(secret)) {
    // Never echo the value: it is a secret, even when malformed.
    throw new ConfigError(
      "WEBHOOK_SECRET: must be Standard Webhooks' form, whsec_ and the base64 of 24 to 64 random bytes; " +
        'make one with `echo "whsec_$(openssl rand -base64 32)"`',
    );
  }
  const firstRetryMs = readDuration(env, 'WEBHOOK_RETRY_BASE', DEFAULT_FIRST_RETRY_MS);
  if (firstRetryMs > 10_000)
    throw new ConfigError('WEBHOOK_RETRY_BASE: at most 10s, so that the first retry comes within 10 s');
  return { urls, secret, firstRetryMs };
}

export function readConfig(env: NodeJS.ProcessEnv): Config {
  const logLevel = read(env, 'LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL: ${JSON.stringify(logLevel)} is not one of ${LOG_LEVELS.join(', ')}`);
  }
  const bootstrapToken = read(env, 'BOOTSTRAP_TOKEN');
  if (bootstrapToken !== undefined && !hasValidChecksum(bootstrapToken)) {
    // Never echo the value: it is a secret, even when malformed.
    throw new ConfigError(
      'BOOTSTRAP_TOKEN: must be a secret of the current format (xaat- and 49 base62 characters, ' +
        'its checksum valid); make one with `api-tokens admin new-secret`',
    );
  }
  return {
    port: readPort(read(env, 'PORT')),
    host: readHost(read(env, 'HOST')),
    databaseUrl: read(env, 'DATABASE_URL') ?? 'sqlite:./data/tokens.db',
    bootstrapToken,
    logLevel,
    validateResponses: read(env, 'NODE_ENV') !== 'production',
    authCacheSize: readCount(env, 'AUTH_CACHE_SIZE', DEFAULT_AUTH_CACHE_SIZE),
    // "0" as well as "0s": off, the default.
    authCacheTtlMs: read(env, 'AUTH_CACHE_TTL') === '0' ? 0 : readDuration(env, 'AUTH_CACHE_TTL', 0),
    corsOrigins: readOrigins(read(env, 'CORS_ORIGINS')),
    trustProxy: readTrustProxy(read(env, 'TRUST_PROXY')),
    expiredTokenRetentionMs: readDuration(env, 'EXPIRED_TOKEN_RETENTION', DEFAULT_EXPIRED_TOKEN_RETENTION_MS),
    databasePoolSize: readPoolSize(read(env, 'DATABASE_POOL_SIZE')),
    databaseConnectTimeoutMs: readDuration(env, 'DATABASE_CONNECT_TIMEOUT', DEFAULT_CONNECT_TIMEOUT_MS),
    auditRetentionMs: readDuration(env, 'AUDIT_RETENTION', DEFAULT_AUDIT_RETENTION_MS),
    docs: readSwitch(env, 'DOCS'),
    console: readSwitch(env, 'CONSOLE'),
    metrics: readSwitch(env, 'METRICS'),
    metricsPort: readPort(read(env, 'METRICS_PORT'), 'METRICS_PORT', DEFAULT_METRICS_PORT),
    metricsHost: readHost(read(env, 'METRICS_HOST') ?? DEFAULT_METRICS_HOST, 'METRICS_HOST'),
    maxTokenLifetimeMs: readMaxLifetime(env),
    webhooks: readWebhooks(env),
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
      leakReportsPerMinute: readCount(
        env,
        'LEAK_REPORTS_PER_MINUTE',
        DEFAULT_RATE_LIMITS.leakReportsPerMinute as number,
      ),
    },
  };
}
