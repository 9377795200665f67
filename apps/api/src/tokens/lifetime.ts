// Time bounds of a new token: the server's maximum lifetime (MAX_TOKEN_LIFETIME), and a start (notBefore) no earlier than its issuer may act and before its end.
import { formatDuration } from '@api-tokens/client/durations';
import { TokenError } from './errors.js';

/**
 * With a maximum lifetime (`maxLifetimeMs`; undefined: none), a new token must expire, and no later
 * than `now` plus that. `field` is the input its expiry came from. The bootstrap and recovered admin
 * tokens are not issued through this rule: they are exempt.
 */
export function assertWithinLifetime(
  expiresAt: Date | null,
  now: Date,
  maxLifetimeMs: number | undefined,
  field: readonly (string | number)[],
): void {
  if (maxLifetimeMs === undefined) return;
  const limit = formatDuration(maxLifetimeMs);
  if (expiresAt === null) {
    throw new TokenError(
      'invalid',
      `must be set: tokens on this server live at most ${limit} (MAX_TOKEN_LIFETIME); give an expiry within that`,
      field,
    );
  }
  const latest = new Date(now.getTime() + maxLifetimeMs);
  if (expiresAt > latest) {
    throw new TokenError(
      'invalid',
      `must be at most ${limit} from now (MAX_TOKEN_LIFETIME), so no later than ${latest.toISOString()}`,
      field,
    );
  }
}

/**
 * A token's start, against its issuer's and its own end: it cannot start before its issuer may act
 * (forbidden, naming `notBeforeField`), and must end after it starts (invalid, naming `expiryField`).
 */
export function assertStart(
  notBefore: Date | null,
  expiresAt: Date | null,
  issuerNotBefore: Date | null,
  fields: { notBefore: readonly (string | number)[]; expiresAt: readonly (string | number)[] },
): void {
  if (notBefore === null) return;
  if (issuerNotBefore !== null && notBefore < issuerNotBefore) {
    throw new TokenError(
      'forbidden',
      `cannot start before the caller's token may act, at ${issuerNotBefore.toISOString()}`,
      fields.notBefore,
    );
  }
  if (expiresAt !== null && expiresAt <= notBefore) {
    throw new TokenError('invalid', `must be after notBefore, ${notBefore.toISOString()}`, fields.expiresAt);
  }
}

/** Whether a token has started at `now`: it has no notBefore, or that has come. */
export const hasStarted = (token: { notBefore: Date | null }, now: Date): boolean =>
  token.notBefore === null || token.notBefore.getTime() <= now.getTime();
