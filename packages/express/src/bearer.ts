// The bearer token of a request's Authorization header (RFC 6750 §2.1), the scheme name case-insensitive.

/** What the Authorization header holds: no bearer token at all, a malformed one, or a token. */
export type BearerCredentials =
  | { kind: 'missing' }
  | { kind: 'malformed' }
  | { kind: 'token'; token: string };

// RFC 6750's b64token: letters, digits and -._~+/ then any '=' padding.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * Reads `Authorization: Bearer <token>`. A header absent, empty or of another scheme (Basic, say) is
 * `missing`: the request did not try bearer authentication. `Bearer` followed by nothing, by more than
 * one word, or by characters a token never holds is `malformed`.
 */
export function readBearer(header: string | undefined): BearerCredentials {
  const value = header?.trim() ?? '';
  const space = value.search(/\s/);
  const scheme = space === -1 ? value : value.slice(0, space);
  if (scheme.toLowerCase() !== 'bearer') return { kind: 'missing' };
  const token = space === -1 ? '' : value.slice(space).trim();
  if (!B64TOKEN.test(token)) return { kind: 'malformed' };
  return { kind: 'token', token };
}
