// Regenerate, at commit: a live token not yet regenerated is cut to its grace period, marked replaced, and its replacement stored.
import type { AuditEvent, TokenRecord } from '../model.js';
import type { LockedWrite } from '../store/store.js';
import type { TokenError } from './errors.js';
import { isLive } from './expiry.js';
import { type Issuer, type IssuerRefusal, refuseIssuer } from './issuance.js';

export interface RegenerateRequest {
  id: string;
  now: Date;
  issuer: Issuer;
  /** The end of the old token's grace period; never extends its own expiry. */
  existingTokenExpiresAt: Date;
  replacement: TokenRecord;
  replacementSecretDigest: Buffer;
  /** Written in the same transaction, if and only if the token is regenerated. */
  event?: AuditEvent;
}

/** `refused`: the rule's own refusal, in its words, which the service throws as it is. */
export type RegenerateOutcome =
  | 'regenerated'
  | 'not_found'
  | 'already_regenerated'
  | IssuerRefusal
  | { refused: TokenError };

/**
 * The token and its issuer, locked together: if the issuer is still live and does not expire
 * before the replacement, and the token is live and not yet regenerated, its expiry is cut to the
 * grace period (never extended), it is marked replaced, and the replacement is inserted.
 */
export function regeneration(request: RegenerateRequest): LockedWrite<RegenerateOutcome> {
  return {
    lock: [request.id, request.issuer.id],
    decide(locked) {
      // Before the token is cut: a caller regenerating itself is judged by its expiry before the cut.
      const refused = refuseIssuer(
        request.issuer,
        locked.get(request.issuer.id),
        request.replacement.expiresAt,
      );
      if (refused !== undefined) return { outcome: refused };
      const target = locked.get(request.id);
      if (target === undefined || !isLive(target, request.now)) return { outcome: 'not_found' };
      if (target.replacedBy !== null) return { outcome: 'already_regenerated' };
      const grace = request.existingTokenExpiresAt;
      const expiresAt = target.expiresAt !== null && target.expiresAt <= grace ? target.expiresAt : grace;
      return {
        outcome: 'regenerated',
        writes: {
          replace: { id: request.id, expiresAt, replacedBy: request.replacement.id },
          insert: { token: request.replacement, secretDigest: request.replacementSecretDigest },
          event: request.event,
          // Cut to its grace period and marked replaced: a verdict cached before says more than is
          // now true (a later expiry, EXPIRED where NOT_FOUND is due), so every cache is told.
          revoke: [request.id],
        },
      };
    },
  };
}
