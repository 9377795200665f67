// The audit trail's events: what each token change records.
import type { AuditEvent, AuditEventType, Provenance, TokenRecord, TokenRef } from '../model.js';
import { uuidv7 } from '../uuid.js';

export const tokenRef = (token: TokenRecord): TokenRef => ({ tokenId: token.id, name: token.name });

/**
 * What a token holds, how long, and (when it is bound or starts later) where and from when, as
 * events record it: never its secret or digest.
 */
export const grantsOf = (token: TokenRecord) => ({
  expiresAt: token.expiresAt?.toISOString() ?? null,
  datasetCapabilities: token.datasetCapabilities,
  orgCapabilities: token.orgCapabilities,
  viewCapabilities: token.viewCapabilities,
  ...(token.allowedCidrs.length > 0 ? { allowedCidrs: token.allowedCidrs } : {}),
  ...(token.notBefore !== null ? { notBefore: token.notBefore.toISOString() } : {}),
});

export function auditEvent(
  type: AuditEventType,
  fields: {
    time: Date;
    actor?: TokenRef | null;
    target?: TokenRef | null;
    provenance?: Provenance | null;
    details?: Readonly<Record<string, unknown>>;
  },
): AuditEvent {
  return {
    id: uuidv7(),
    time: fields.time,
    type,
    actor: fields.actor ?? null,
    target: fields.target ?? null,
    provenance: fields.provenance ?? null,
    details: fields.details ?? {},
  };
}
