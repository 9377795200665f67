// Where the edge names a field the token rules refused: the caller's token, a path parameter, or the body.
import { describe, expect, it } from 'vitest';
import { TokenError } from '../tokens/errors.js';
import { decodeCursor, encodeCursor, inRequest, readExpiry } from './request.js';

/** What `inRequest` rethrows for `err`. */
function placed(err: unknown, pathParameters?: readonly string[]): unknown {
  try {
    inRequest(pathParameters)(err);
  } catch (thrown) {
    return thrown;
  }
  throw new Error('inRequest must rethrow');
}

describe('inRequest', () => {
  it("names a field of the token rules' input as a field of the body", () => {
    const err = placed(new TokenError('invalid', 'must be in the future', ['newToken', 'expiresAt']));
    expect(err).toMatchObject({ kind: 'invalid', message: 'body.newToken.expiresAt: must be in the future' });
  });

  it('names a path parameter by its own name', () => {
    const err = placed(new TokenError('not_found', 'no token x', ['id']), ['id']);
    expect(err).toMatchObject({ kind: 'not_found', message: 'id: no token x' });
  });

  it("names the caller's token as the Authorization header", () => {
    const err = placed(new TokenError('unauthenticated', 'was revoked', ['caller']));
    expect(err).toMatchObject({ kind: 'unauthenticated', message: 'Authorization: was revoked' });
  });

  it('passes on anything that is not a refusal of the token rules', () => {
    const other = new Error('disk on fire');
    expect(placed(other)).toBe(other);
  });
});

describe('request syntax', () => {
  it("reads Go's zero time, and null, as never", () => {
    expect(readExpiry('body.expiresAt', '0001-01-01T00:00:00Z')).toBeNull();
    expect(readExpiry('body.expiresAt', null)).toBeNull();
    expect(readExpiry('body.expiresAt', '2031-01-01T00:00:00+01:00')).toEqual(
      new Date('2030-12-31T23:00:00Z'),
    );
  });

  it('gives back the position a cursor was made from, and refuses one it did not make', () => {
    expect(decodeCursor(encodeCursor(42))).toBe(42);
    expect(() => decodeCursor('bm9wZQ')).toThrow(/^query\.cursor: not a cursor this server gave out/);
  });
});
