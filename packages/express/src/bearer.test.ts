// How the guard reads the Authorization header: scheme case-insensitive, one b64token, nothing else.
import { describe, expect, it } from 'vitest';
import { readBearer } from './bearer.js';

describe('readBearer', () => {
  it.each(['Bearer', 'bearer', 'BEARER', 'bEaReR'])('takes the scheme name %s in any case', (scheme) => {
    expect(readBearer(`${scheme} xaat-abc_DEF-123`)).toEqual({ kind: 'token', token: 'xaat-abc_DEF-123' });
  });

  it('allows the spaces RFC 9110 allows around the header value and between scheme and token', () => {
    expect(readBearer('  Bearer   xaat-abc  ')).toEqual({ kind: 'token', token: 'xaat-abc' });
  });

  it.each([undefined, '', '   ', 'Basic dXNlcjpwYXNz', 'Token xaat-abc', 'Bearerxaat-abc'])(
    'calls %j no bearer token at all',
    (header) => {
      expect(readBearer(header)).toEqual({ kind: 'missing' });
    },
  );

  it.each([
    'Bearer',
    'Bearer ',
    'Bearer a b',
    'Bearer xaat-ä',
    'Bearer a,b',
    'Bearer "xaat-abc"',
    'Bearer ===',
  ])('calls %j a malformed bearer token', (header) => {
    expect(readBearer(header)).toEqual({ kind: 'malformed' });
  });
});
