// Audit events as table rows, the same columns in every SQL store: what each store reads and writes.
import type { AuditEvent, AuditEventType } from '../model.js';

export interface AuditEventRow {
  id: string;
  /** Unix ms. */
  time: number;
  type: string;
  actor_token_id: string | null;
  actor_name: string | null;
  target_token_id: string | null;
  target_name: string | null;
  client_address: string | null;
  request_id: string | null;
  /** JSON. */
  details: string;
  refusal_key: string | null;
}

export function auditRow(event: AuditEvent, refusal: string | null = null): AuditEventRow {
  return {
    id: event.id,
    time: event.time.getTime(),
    type: event.type,
    actor_token_id: event.actor?.tokenId ?? null,
    actor_name: event.actor?.name ?? null,
    target_token_id: event.target?.tokenId ?? null,
    target_name: event.target?.name ?? null,
    client_address: event.provenance?.address ?? null,
    request_id: event.provenance?.requestId ?? null,
    details: JSON.stringify(event.details),
    refusal_key: refusal,
  };
}

/** A row as read back; `time` may come as a number or (PostgreSQL's bigint) a string. */
export function toAuditEvent(row: Omit<AuditEventRow, 'time'> & { time: number | string }): AuditEvent {
  return {
    id: row.id,
    time: new Date(Number(row.time)),
    type: row.type as AuditEventType,
    actor: row.actor_token_id === null ? null : { tokenId: row.actor_token_id, name: row.actor_name ?? '' },
    target:
      row.target_token_id === null ? null : { tokenId: row.target_token_id, name: row.target_name ?? '' },
    provenance:
      row.client_address === null ? null : { address: row.client_address, requestId: row.request_id ?? '' },
    details: JSON.parse(row.details),
  };
}
