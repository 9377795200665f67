// The issuer at commit: a token issued on a caller's authority exists only if that caller is still live, and never outlives it.
import type { TokenRecord } from '../model.js';
import type { InsertCheck } from '../store/store.js';
import { isLive } from './expiry.js';

/**
 * The token on whose authority a write is made. The write happens only if that token is still live
 * at commit time, so a token revoked or expired while its request was in flight grants nothing.
 */
export interface Issuer {
  id: string;
  now: Date;
}

/**
 * The issuer is live but, as read at commit, expires before the token it would issue: a token that
 * expires cannot issue one that outlives it, even if its expiry was cut while the request was in flight.
 */
export interface OutlivesIssuer {
  outlivesIssuer: Date;
}

/** Why an issuer, as read at commit, cannot issue a token. */
export type IssuerRefusal = 'issuer_gone' | OutlivesIssuer;

export type InsertOutcome = 'inserted' | IssuerRefusal;

export const isOutlivesIssuer = (outcome: unknown): outcome is OutlivesIssuer =>
  typeof outcome === 'object' && outcome !== null && 'outlivesIssuer' in outcome;

/**
 * The issuer as it is at commit (`found`, locked), not as it was when its request was
 * authenticated: still live, and expiring no sooner than the token it issues (`expiresAt`; null: never).
 */
export function refuseIssuer(
  issuer: Issuer,
  found: TokenRecord | undefined,
  expiresAt: Date | null,
): IssuerRefusal | undefined {
  if (found === undefined || !isLive(found, issuer.now)) return 'issuer_gone';
  if (found.expiresAt !== null && (expiresAt === null || expiresAt > found.expiresAt))
    return { outlivesIssuer: found.expiresAt };
  return undefined;
}

/** What a store checks, with the issuer locked, before it inserts a token `issuer` issues. */
export const issuedBy = (issuer: Issuer): InsertCheck<IssuerRefusal> => ({
  lock: issuer.id,
  refuse: (found, token) => refuseIssuer(issuer, found, token.expiresAt),
});
