// What the HTTP edge sees of the outbox: a page of deliveries, newest first (GET /webhooks/deliveries).
import type { DeliveryPage, DeliveryPosition, TokenStore } from '../store/store.js';

export type { Delivery, DeliveryPage, DeliveryPosition } from '../store/store.js';

export type ListDeliveries = (options: { limit: number; after?: DeliveryPosition }) => Promise<DeliveryPage>;

export const listDeliveries =
  (store: TokenStore): ListDeliveries =>
  (options) =>
    store.listDeliveries(options);

/** A webhook URL as shown to readers of the deliveries: without user information or query, which may hold credentials. */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return '(not a URL)';
  }
}
