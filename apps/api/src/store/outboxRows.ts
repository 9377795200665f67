// The webhook outbox's rows as every SQL store keeps them: times as Unix ms, the body as the JSON sent.
import type {
  Delivery,
  DeliveryPage,
  DeliveryStatus,
  ExpiryNotice,
  NoticeQuery,
  OutboxMessage,
} from './store.js';

/** The outbox columns every store's schema has, in the order rows are read. */
export const OUTBOX_COLUMNS =
  'seq, webhook_id, event_id, type, url, body, created_at, status, attempts, last_attempt_at, next_attempt_at, last_status, last_error';

/** An outbox row as a driver returns it: PostgreSQL's bigint as a string. */
export interface OutboxRow {
  seq: number | string;
  webhook_id: string;
  event_id: string;
  type: string;
  url: string;
  body: string;
  created_at: number | string;
  status: string;
  attempts: number;
  last_attempt_at: number | string | null;
  next_attempt_at: number | string | null;
  last_status: number | null;
  last_error: string | null;
}

const toDate = (ms: number | string | null) => (ms === null ? null : new Date(Number(ms)));

export const toDelivery = (row: OutboxRow): Delivery => ({
  position: Number(row.seq),
  webhookId: row.webhook_id,
  eventId: row.event_id,
  type: row.type as Delivery['type'],
  url: row.url,
  body: row.body,
  createdAt: new Date(Number(row.created_at)),
  status: row.status as DeliveryStatus,
  attempts: Number(row.attempts),
  lastAttemptAt: toDate(row.last_attempt_at),
  nextAttemptAt: toDate(row.next_attempt_at),
  lastStatus: row.last_status,
  lastError: row.last_error,
});

/** A new outbox row: pending, no attempt yet. */
export const outboxValues = (message: OutboxMessage) => ({
  webhookId: message.webhookId,
  eventId: message.eventId,
  type: message.type,
  url: message.url,
  body: message.body,
  createdAt: message.createdAt.getTime(),
  nextAttemptAt: message.nextAttemptAt.getTime(),
});

/** A page of deliveries from up to `limit` + 1 rows, newest first. */
export function deliveryPage(rows: readonly OutboxRow[], limit: number): DeliveryPage {
  const deliveries = rows.slice(0, limit).map(toDelivery);
  const last = deliveries.at(-1);
  return { deliveries, next: rows.length > limit && last !== undefined ? last.position : undefined };
}

/** The parameters of a notice query, times as Unix ms. */
export const noticeValues = (query: NoticeQuery) => ({
  notice: query.notice,
  from: query.expiresFrom.getTime(),
  before: query.expiresBefore.getTime(),
  limit: query.limit,
});

/** Notices in token-id order, so that two processes recording the same ones never deadlock. */
export const inIdOrder = (notices: readonly ExpiryNotice[]) =>
  [...notices].sort((a, b) => (a.tokenId < b.tokenId ? -1 : a.tokenId > b.tokenId ? 1 : 0));
