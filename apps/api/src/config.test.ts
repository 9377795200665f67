// Configuration: defaults a new user gets, and one clear refusal per bad value.
import { describe, expect, it } from 'vitest';
import { ConfigError, readConfig } from './config.js';

describe('readConfig', () => {
  it('gives the documented defaults', () => {
    expect(readConfig({})).toEqual({
      port: 3000,
      host: '127.0.0.1',
      databaseUrl: 'sqlite:./data/tokens.db',
      bootstrapToken: undefined,
      logLevel: 'info',
      validateResponses: true,
      authCacheSize: 10_000,
      corsOrigins: [],
      rateLimits: { failedAuthPerMinute: 60, requestsPerTokenPerSecond: 50 },
    });
  });

  it('reads every variable', () => {
    expect(
      readConfig({
        PORT: '8080',
        HOST: '0.0.0.0',
        DATABASE_URL: 'sqlite:/var/lib/tokens.db',
        BOOTSTRAP_TOKEN: 'a'.repeat(32),
        LOG_LEVEL: 'debug',
        NODE_ENV: 'production',
        AUTH_CACHE_SIZE: '0',
        CORS_ORIGINS: 'https://a.example, http://localhost:5173',
        RATE_LIMIT_FAILED_AUTH_PER_MIN: '0',
        RATE_LIMIT_PER_TOKEN_PER_SEC: '7',
      }),
    ).toEqual({
      port: 8080,
      host: '0.0.0.0',
      databaseUrl: 'sqlite:/var/lib/tokens.db',
      bootstrapToken: 'a'.repeat(32),
      logLevel: 'debug',
      validateResponses: false,
      authCacheSize: 0,
      corsOrigins: ['https://a.example', 'http://localhost:5173'],
      rateLimits: { failedAuthPerMinute: 0, requestsPerTokenPerSecond: 7 },
    });
  });

  it.each([
    ['PORT', '70000'],
    ['PORT', 'http'],
    ['LOG_LEVEL', 'verbose'],
    ['BOOTSTRAP_TOKEN', 'too-short'],
    ['BOOTSTRAP_TOKEN', `${'a'.repeat(40)}!`],
    ['RATE_LIMIT_FAILED_AUTH_PER_MIN', '-1'],
    ['RATE_LIMIT_PER_TOKEN_PER_SEC', 'fast'],
    ['AUTH_CACHE_SIZE', '1e3'],
    ['CORS_ORIGINS', 'https://a.example/path'],
    ['CORS_ORIGINS', '*'],
  ])('refuses %s=%s, naming it', (name, value) => {
    expect(() => readConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => readConfig({ [name]: value })).toThrow(new RegExp(`^${name}: `));
  });

  it('never echoes a malformed BOOTSTRAP_TOKEN', () => {
    expect(() => readConfig({ BOOTSTRAP_TOKEN: 'secret-but-short' })).toThrow(/^(?!.*secret-but-short)/s);
  });
});
