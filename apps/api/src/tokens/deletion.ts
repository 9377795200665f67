// Delete, at commit: a live token ends at once, on the authority of a live caller that covers it (or is it).
import type { AuditEvent, TokenRecord } from '../model.js';
import type { LockedWrite } from '../store/store.js';
import { refuseEnding } from './capabilities.js';
import type { TokenError } from './errors.js';
import { isLive } from './expiry.js';

export interface DeleteRequest {
  id: string;
  now: Date;
  /**
   * The caller on whose authority it is deleted: live at commit, and holding everything the token
   * holds unless it is the token itself (self-revocation needs nothing beyond being live). None: an
   * operator's own tool.
   */
  by?: TokenRecord;
  /** The audit event, from the token as locked; written in the same transaction, if and only if it is deleted. */
  event?: (target: TokenRecord) => AuditEvent;
}

export type DeleteOutcome =
  | { deleted: AuditEvent | undefined }
  | 'not_found'
  | 'issuer_gone'
  | { refused: TokenError };

export function deletion(request: DeleteRequest): LockedWrite<DeleteOutcome> {
  const { id, now, by } = request;
  return {
    lock: by === undefined ? [id] : [id, by.id],
    decide(locked) {
      const target = locked.get(id);
      if (target === undefined || !isLive(target, now)) return { outcome: 'not_found' };
      if (by !== undefined) {
        const caller = locked.get(by.id);
        if (caller === undefined || !isLive(caller, now)) return { outcome: 'issuer_gone' };
        const refused = by.id === id ? undefined : refuseEnding(caller, target, 'delete');
        if (refused !== undefined) return { outcome: { refused } };
      }
      const event = request.event?.(target);
      // Its secret ends here: every cache is told (the revocation feed).
      return { outcome: { deleted: event }, writes: { delete: id, event, revoke: [id] } };
    },
  };
}
