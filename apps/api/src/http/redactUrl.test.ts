// redactUrl: what of a request target may be written to a log line or an error message.
import { describe, expect, it } from 'vitest';
import { redactUrl } from './requestLog.js';

describe('redactUrl', () => {
  it('redacts credential-named query values and anything shaped like a secret, keeping the rest', () => {
    expect(redactUrl('/v2/tokens?access_token=abc&limit=2')).toBe(
      '/v2/tokens?access_token=[redacted]&limit=2',
    );
    expect(redactUrl('/v2/tokens?TOKEN=abc')).toBe('/v2/tokens?TOKEN=[redacted]');
    expect(redactUrl('/v2/tokens?cursor=xaat-abc')).toBe('/v2/tokens?cursor=[redacted]');
    expect(redactUrl('/v2/tokens?q=Bearer%20XAAT-abc')).toBe('/v2/tokens?q=[redacted]');
    expect(redactUrl('/v2/tokens?xaat-abc')).toBe('/v2/tokens?[redacted]');
    expect(redactUrl('/v2/tokens/xaat-abc/regenerate')).toBe('/v2/tokens/[redacted]/regenerate');
    expect(redactUrl('/v2/tokens?limit=2&cursor=abc')).toBe('/v2/tokens?limit=2&cursor=abc');
    expect(redactUrl('/v2/tokens?bad=%E0%A4%A')).toBe('/v2/tokens?bad=%E0%A4%A');
  });

  it('keeps a plain path as sent, and still finds a secret in one in any case or %-encoded', () => {
    const id = '/v2/tokens/0190a0a0-0000-7000-8000-000000000000';
    expect(redactUrl(id)).toBe(id);
    expect(redactUrl('/v2/tokens/XAAT-abc')).toBe('/v2/tokens/[redacted]');
    expect(redactUrl('/v2/tokens/xa%61t-abc/regenerate')).toBe('/v2/tokens/[redacted]/regenerate');
    expect(redactUrl('/v2/tokens/xaat+abc')).toBe('/v2/tokens/xaat+abc');
  });
});
