// Which audit events become webhooks, and the message each becomes: the body that is sent and signed, once per URL.
import type { AuditEvent, AuditEventType } from '../model.js';
import type { OutboxMessage } from '../store/store.js';

/** The token events delivered to every webhook URL; bootstraps, recoveries and refused authentications are not. */
export const WEBHOOK_EVENT_TYPES: readonly AuditEventType[] = [
  'token.created',
  'token.regenerated',
  'token.deleted',
  'token.leaked',
  'token.expiring',
  'token.expired',
];

/** `webhook-id`: the same on every attempt of one event, so that a receiver can deduplicate. */
export const webhookIdOf = (event: AuditEvent) => `msg_${event.id}`;

/**
 * The outbox messages for an event, one per URL (none for an event that is not a webhook's): the
 * body is `{ type, timestamp, data }`, `data` being the event as the API answers it (`present`),
 * which never holds a secret. Due at once.
 */
export function webhookMessages(
  urls: readonly string[],
  present: (event: AuditEvent) => unknown,
): (event: AuditEvent) => OutboxMessage[] {
  return (event) => {
    if (urls.length === 0 || !WEBHOOK_EVENT_TYPES.includes(event.type)) return [];
    const body = JSON.stringify({
      type: event.type,
      timestamp: event.time.toISOString(),
      data: present(event),
    });
    return urls.map((url) => ({
      webhookId: webhookIdOf(event),
      eventId: event.id,
      type: event.type,
      url,
      body,
      createdAt: event.time,
      nextAttemptAt: event.time,
    }));
  };
}
