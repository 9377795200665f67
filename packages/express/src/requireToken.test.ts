// requireToken's start-up checks: a guard that could never verify anything refuses to be made.
import { describe, expect, it } from 'vitest';
import { requireToken } from './requireToken.js';

const baseUrl = 'http://tokens.internal:3000/v2';

describe('requireToken(options)', () => {
  it('throws without a serviceToken, as when its environment variable is unset', () => {
    expect(() => requireToken({ baseUrl, serviceToken: undefined })).toThrow(
      "requireToken: serviceToken is required: this service's own token, holding apiTokens: read",
    );
    expect(() => requireToken({ baseUrl, serviceToken: '' })).toThrow(/serviceToken is required/);
  });

  it('throws without a baseUrl, or with a timeoutMs that is not above 0', () => {
    expect(() => requireToken({ baseUrl: '', serviceToken: 'xaat-service' })).toThrow(/baseUrl is required/);
    for (const timeoutMs of [0, -1, Number.NaN]) {
      expect(() => requireToken({ baseUrl, serviceToken: 'xaat-service', timeoutMs })).toThrow(
        /timeoutMs must be a number above 0/,
      );
    }
  });

  it('throws for a fixed require naming a dataset or view that cannot exist', () => {
    expect(() =>
      requireToken({
        baseUrl,
        serviceToken: 'xaat-service',
        require: { viewCapabilities: { 'errors/last': { query: ['read'] } } },
      }),
    ).toThrow(/^requireToken: require: "errors\/last" is not a valid view name/);
  });

  it('makes a middleware for a valid fixed require, a function, or none', () => {
    for (const require of [
      undefined,
      { datasetCapabilities: { '*': { query: ['read' as const] } } },
      () => ({}),
    ]) {
      expect(typeof requireToken({ baseUrl, serviceToken: 'xaat-service', require })).toBe('function');
    }
  });
});
