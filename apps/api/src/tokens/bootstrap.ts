// Bootstrap, once in the life of a store: the first token is stored only where no token was ever stored before.
import type { AuditEvent, TokenRecord } from '../model.js';
import type { OnceWrite } from '../store/store.js';

/** The fact a bootstrap marks, so that no later start bootstraps again. */
export const BOOTSTRAPPED = 'bootstrapped';

export interface BootstrapRequest {
  token: TokenRecord;
  secretDigest: Buffer;
  now: Date;
  /** Written in the same transaction, if and only if the token is stored. */
  event?: AuditEvent;
}

/**
 * Stores the bootstrap token unless the store was bootstrapped before or holds tokens: true when
 * it did. Once bootstrapped, always: a revoked bootstrap secret never comes back, even after every
 * token is deleted. Tokens stored without a bootstrap (by a tool, say) count as a bootstrap, and
 * are marked as one, so that deleting them does not open the store to a bootstrap either.
 */
export function bootstrapOnce(request: BootstrapRequest): OnceWrite<boolean> {
  const mark = { fact: BOOTSTRAPPED, at: request.now };
  return {
    fact: BOOTSTRAPPED,
    decide({ marked, hasTokens }) {
      if (marked) return { outcome: false };
      if (hasTokens) return { outcome: false, writes: { mark } };
      return {
        outcome: true,
        writes: {
          insert: { token: request.token, secretDigest: request.secretDigest },
          event: request.event,
          mark,
        },
      };
    },
  };
}
