// What the token rules refuse, in their own words: a kind and a reason, never a status; the HTTP edge picks the status.
import { fieldPath } from '../fieldPath.js';

/**
 * - `invalid`: the input breaks a rule (an expiry in the past).
 * - `not_found`: no live token has that id.
 * - `forbidden`: the caller may not do this (grant what it does not hold, outlive its own token).
 * - `conflict`: the token's state does not allow it (regenerated already).
 * - `unauthenticated`: the caller's own token is no longer live.
 * A store that cannot serve throws its own StoreUnavailableError.
 */
export type TokenErrorKind = 'invalid' | 'not_found' | 'forbidden' | 'conflict' | 'unauthenticated';

/**
 * A refusal whose message is safe to show the caller. `field` names the input at fault as the
 * token rules received it (`['expiresAt']`, `['datasetCapabilities', 'logs', 'query']`); the edge
 * places it where the request carried it (see `at`).
 */
export class TokenError extends Error {
  constructor(
    readonly kind: TokenErrorKind,
    readonly reason: string,
    readonly field: readonly (string | number)[] = [],
  ) {
    const [first, ...rest] = field;
    super(first === undefined ? reason : `${fieldPath(String(first), rest)}: ${reason}`);
    this.name = 'TokenError';
  }

  /** The same refusal, its field under `location` (`['body']`, `['body', 'newToken']`). */
  at(location: readonly (string | number)[]): TokenError {
    return new TokenError(this.kind, this.reason, [...location, ...this.field]);
  }
}
