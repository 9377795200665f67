// Configuration: defaults a new user gets, and one clear refusal per bad value.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type Config, ConfigError, readConfig } from './config.js';
import { generateSecret } from './tokens/secrets.js';

const BOOTSTRAP_SECRET = generateSecret();
/** A Standard Webhooks secret: whsec_ and the base64 of 32 random bytes. */
const WEBHOOK_SECRET = `whsec_${randomBytes(32).toString('base64')}`;

const DEFAULTS: Config = {
  port: 3000,
  host: '127.0.0.1',
  databaseUrl: 'sqlite:./data/tokens.db',
  bootstrapToken: undefined,
  logLevel: 'info',
  validateResponses: true,
  authCacheSize: 10_000,
  authCacheTtlMs: 0,
  corsOrigins: [],
  trustProxy: false,
  expiredTokenRetentionMs: 7 * 24 * 60 * 60 * 1000,
  auditRetentionMs: 90 * 24 * 60 * 60 * 1000,
  docs: true,
  console: true,
  metrics: true,
  metricsPort: 9464,
  metricsHost: '127.0.0.1',
  rateLimits: { failedAuthPerMinute: 60, requestsPerTokenPerSecond: 50, leakReportsPerMinute: 60 },
  databasePoolSize: 10,
  databaseConnectTimeoutMs: 30_000,
  maxTokenLifetimeMs: undefined,
  webhooks: undefined,
};

/** Every variable readConfig reads. */
const VARIABLES = [
  'PORT',
  'HOST',
  'DATABASE_URL',
  'BOOTSTRAP_TOKEN',
  'LOG_LEVEL',
  'NODE_ENV',
  'AUTH_CACHE_SIZE',
  'AUTH_CACHE_TTL',
  'CORS_ORIGINS',
  'TRUST_PROXY',
  'EXPIRED_TOKEN_RETENTION',
  'AUDIT_RETENTION',
  'RATE_LIMIT_FAILED_AUTH_PER_MIN',
  'RATE_LIMIT_PER_TOKEN_PER_SEC',
  'DATABASE_POOL_SIZE',
  'DATABASE_CONNECT_TIMEOUT',
  'DOCS',
  'CONSOLE',
  'METRICS',
  'METRICS_PORT',
  'METRICS_HOST',
  'LEAK_REPORTS_PER_MINUTE',
  'MAX_TOKEN_LIFETIME',
  'WEBHOOK_URLS',
  'WEBHOOK_SECRET',
  'WEBHOOK_RETRY_BASE',
];

describe('readConfig', () => {
  it('gives the documented defaults', () => {
    expect(readConfig({})).toEqual(DEFAULTS);
  });

  it('takes every variable set to the empty string as unset', () => {
    expect(readConfig(Object.fromEntries(VARIABLES.map((name) => [name, ''])))).toEqual(DEFAULTS);
  });

  it('takes AUTH_CACHE_TTL=0, as documented, for off (as 0s)', () => {
    expect(readConfig({ AUTH_CACHE_TTL: '0' }).authCacheTtlMs).toBe(0);
    expect(readConfig({ AUTH_CACHE_TTL: '0s' }).authCacheTtlMs).toBe(0);
  });

  it('reads every variable', () => {
    expect(
      readConfig({
        PORT: '8080',
        HOST: '0.0.0.0',
        DATABASE_URL: 'sqlite:/var/lib/tokens.db',
        BOOTSTRAP_TOKEN: BOOTSTRAP_SECRET,
        LOG_LEVEL: 'debug',
        NODE_ENV: 'production',
        AUTH_CACHE_SIZE: '0',
        AUTH_CACHE_TTL: '10m',
        CORS_ORIGINS: 'https://a.example, http://localhost:5173',
        TRUST_PROXY: 'loopback, 10.0.0.0/8',
        EXPIRED_TOKEN_RETENTION: '36h',
        AUDIT_RETENTION: '30d',
        RATE_LIMIT_FAILED_AUTH_PER_MIN: '0',
        RATE_LIMIT_PER_TOKEN_PER_SEC: '7',
        DATABASE_POOL_SIZE: '25',
        DATABASE_CONNECT_TIMEOUT: '2m',
        DOCS: 'off',
        CONSOLE: 'off',
        METRICS: 'off',
        METRICS_PORT: '9100',
        METRICS_HOST: '0.0.0.0',
        LEAK_REPORTS_PER_MINUTE: '5',
        MAX_TOKEN_LIFETIME: '90d',
        WEBHOOK_URLS: 'https://hooks.example/a, http://10.0.0.7:8080/b',
        WEBHOOK_SECRET,
        WEBHOOK_RETRY_BASE: '2s',
      }),
    ).toEqual({
      port: 8080,
      host: '0.0.0.0',
      databaseUrl: 'sqlite:/var/lib/tokens.db',
      bootstrapToken: BOOTSTRAP_SECRET,
      logLevel: 'debug',
      validateResponses: false,
      authCacheSize: 0,
      authCacheTtlMs: 600_000,
      corsOrigins: ['https://a.example', 'http://localhost:5173'],
      trustProxy: ['loopback', '10.0.0.0/8'],
      expiredTokenRetentionMs: 36 * 60 * 60 * 1000,
      auditRetentionMs: 30 * 24 * 60 * 60 * 1000,
      docs: false,
      console: false,
      metrics: false,
      metricsPort: 9100,
      metricsHost: '0.0.0.0',
      rateLimits: { failedAuthPerMinute: 0, requestsPerTokenPerSecond: 7, leakReportsPerMinute: 5 },
      databasePoolSize: 25,
      databaseConnectTimeoutMs: 120_000,
      maxTokenLifetimeMs: 90 * 24 * 60 * 60 * 1000,
      webhooks: {
        urls: ['https://hooks.example/a', 'http://10.0.0.7:8080/b'],
        secret: WEBHOOK_SECRET,
        firstRetryMs: 2000,
      },
    });
  });

  it.each([
    ['HOST', 'localhost', 'localhost'],
    ['HOST', '::', '::'],
    ['PORT', '0', 0],
    ['PORT', '65535', 65535],
  ] as const)('reads %s=%s', (name, value, expected) => {
    expect(readConfig({ [name]: value })[name === 'PORT' ? 'port' : 'host']).toBe(expected);
  });

  it.each([
    ['true', true],
    ['false', false],
    ['1', 1],
    ['loopback', ['loopback']],
    ['linklocal,uniquelocal', ['linklocal', 'uniquelocal']],
    ['192.0.2.10, 2001:db8::/32, 10.0.0.0/255.0.0.0', ['192.0.2.10', '2001:db8::/32', '10.0.0.0/255.0.0.0']],
  ])('reads TRUST_PROXY=%s as Express takes it', (value, expected) => {
    expect(readConfig({ TRUST_PROXY: value }).trustProxy).toEqual(expected);
  });

  it.each([
    ['on', true],
    ['true', true],
    ['off', false],
    ['false', false],
  ])('reads DOCS, CONSOLE and METRICS set to %s as %s', (value, expected) => {
    expect(readConfig({ DOCS: value, CONSOLE: value, METRICS: value })).toMatchObject({
      docs: expected,
      console: expected,
      metrics: expected,
    });
  });

  it.each([
    ['30s', 30_000],
    ['90m', 90 * 60_000],
    ['36h', 36 * 3_600_000],
    ['7d', 7 * 86_400_000],
    ['0d', 0],
    ['1h30m', 90 * 60_000],
    ['1d12h', 36 * 3_600_000],
  ])('reads EXPIRED_TOKEN_RETENTION=%s as %d ms', (value, ms) => {
    expect(readConfig({ EXPIRED_TOKEN_RETENTION: value }).expiredTokenRetentionMs).toBe(ms);
  });

  it.each([
    ['PORT', '70000'],
    ['PORT', 'http'],
    ['PORT', '0x50'],
    ['PORT', '1e3'],
    ['PORT', '80.0'],
    ['PORT', '+80'],
    ['PORT', '-1'],
    ['PORT', ' 80'],
    ['PORT', '0b1010000'],
    ['HOST', 'not a host'],
    ['HOST', 'http://example.com'],
    ['LOG_LEVEL', 'verbose'],
    ['BOOTSTRAP_TOKEN', 'too-short'],
    ['BOOTSTRAP_TOKEN', `${'a'.repeat(40)}!`],
    ['BOOTSTRAP_TOKEN', 'a'.repeat(32)],
    // The first format (no checksum) and the current one with a wrong checksum.
    ['BOOTSTRAP_TOKEN', 'xaat-ZXhhbXBsZS1vbmx5LW5vdC1hLXJlYWwtc2VjcmV0LTA'],
    ['BOOTSTRAP_TOKEN', `${BOOTSTRAP_SECRET.slice(0, -1)}${BOOTSTRAP_SECRET.endsWith('0') ? '1' : '0'}`],
    ['METRICS_PORT', '65536'],
    ['METRICS_HOST', 'not a host'],
    ['LEAK_REPORTS_PER_MINUTE', 'many'],
    ['RATE_LIMIT_FAILED_AUTH_PER_MIN', '-1'],
    ['RATE_LIMIT_PER_TOKEN_PER_SEC', 'fast'],
    ['AUTH_CACHE_SIZE', '1e3'],
    ['AUTH_CACHE_TTL', '10'],
    ['CORS_ORIGINS', 'https://a.example/path'],
    ['CORS_ORIGINS', '*'],
    ['TRUST_PROXY', 'yes'],
    ['TRUST_PROXY', 'TRUE'],
    ['TRUST_PROXY', 'proxy.example.com'],
    ['TRUST_PROXY', '10.0.0.1/33'],
    ['TRUST_PROXY', 'loopback,,10.0.0.1'],
    ['TRUST_PROXY', '-1'],
    ['EXPIRED_TOKEN_RETENTION', '7'],
    ['EXPIRED_TOKEN_RETENTION', 'd'],
    ['EXPIRED_TOKEN_RETENTION', '7w'],
    ['EXPIRED_TOKEN_RETENTION', '1.5h'],
    ['EXPIRED_TOKEN_RETENTION', '-1d'],
    ['EXPIRED_TOKEN_RETENTION', '7 d'],
    ['EXPIRED_TOKEN_RETENTION', '7D'],
    ['EXPIRED_TOKEN_RETENTION', '999999999d'],
    ['EXPIRED_TOKEN_RETENTION', '30m1h'],
    ['DATABASE_POOL_SIZE', '0'],
    ['DATABASE_POOL_SIZE', 'ten'],
    ['DATABASE_CONNECT_TIMEOUT', '30'],
    ['AUDIT_RETENTION', '90'],
    ['AUDIT_RETENTION', '-1d'],
    ['DOCS', 'no'],
    ['CONSOLE', 'off please'],
    ['METRICS', 'OFF'],
    ['MAX_TOKEN_LIFETIME', '90'],
    ['MAX_TOKEN_LIFETIME', '0s'],
    ['MAX_TOKEN_LIFETIME', '3w'],
  ])('refuses %s=%s, naming it', (name, value) => {
    expect(() => readConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => readConfig({ [name]: value })).toThrow(new RegExp(`^${name}: `));
  });

  it('says how to make a BOOTSTRAP_TOKEN, in one line', () => {
    expect(() => readConfig({ BOOTSTRAP_TOKEN: 'a'.repeat(32) })).toThrow(
      /^BOOTSTRAP_TOKEN: [^\n]*api-tokens admin new-secret[^\n]*$/,
    );
  });

  it('never echoes a malformed BOOTSTRAP_TOKEN', () => {
    expect(() => readConfig({ BOOTSTRAP_TOKEN: 'secret-but-short' })).toThrow(/^(?!.*secret-but-short)/s);
  });

  describe('webhooks', () => {
    const urls = 'https://hooks.example/a';

    it.each([24, 64])('takes a secret of %i bytes', (bytes) => {
      const secret = `whsec_${randomBytes(bytes).toString('base64')}`;
      expect(readConfig({ WEBHOOK_URLS: urls, WEBHOOK_SECRET: secret }).webhooks).toEqual({
        urls: [urls],
        secret,
        firstRetryMs: 5000,
      });
    });

    it.each([
      ['too short (23 bytes)', `whsec_${randomBytes(23).toString('base64')}`],
      ['too long (65 bytes)', `whsec_${randomBytes(65).toString('base64')}`],
      ['without whsec_', randomBytes(32).toString('base64')],
      ['not base64', 'whsec_not*base64*at*all*not*base64*at*all'],
      ['base64url', `whsec_${'-_'.repeat(22)}`],
    ])('refuses a secret %s, without echoing it', (_why, secret) => {
      const read = () => readConfig({ WEBHOOK_URLS: urls, WEBHOOK_SECRET: secret });
      expect(read).toThrow(/^WEBHOOK_SECRET: [^\n]*whsec_[^\n]*openssl rand[^\n]*$/);
      expect(read).toThrow(new RegExp(`^(?!.*${secret.slice(6, 20).replace(/[+/*]/g, '.')})`, 's'));
    });

    it('refuses URLs without a secret, and a secret without URLs', () => {
      expect(() => readConfig({ WEBHOOK_URLS: urls })).toThrow(
        /^WEBHOOK_URLS is set but WEBHOOK_SECRET is not/,
      );
      expect(() => readConfig({ WEBHOOK_SECRET })).toThrow(/^WEBHOOK_SECRET is set but WEBHOOK_URLS is not/);
    });

    it.each(['ftp://hooks.example/a', 'hooks.example/a', 'https://user:pa ss@'])(
      'refuses WEBHOOK_URLS entry %s without echoing it',
      (url) => {
        const read = () => readConfig({ WEBHOOK_URLS: `${urls},${url}`, WEBHOOK_SECRET });
        expect(read).toThrow(/^WEBHOOK_URLS: entry 2 is not an http or https URL/);
      },
    );

    it('refuses a WEBHOOK_RETRY_BASE that would put the first retry past 10 s', () => {
      expect(() => readConfig({ WEBHOOK_URLS: urls, WEBHOOK_SECRET, WEBHOOK_RETRY_BASE: '11s' })).toThrow(
        /^WEBHOOK_RETRY_BASE: /,
      );
    });
  });
});
