// GET /webhooks/deliveries: the outbox's deliveries, newest first, a page at a time with an RFC 8288 Link to the next.
import type { GetWebhookDeliveriesData, WebhookDelivery } from '@api-tokens/client';
import type { Request, Response } from 'express';
import { type Delivery, displayUrl } from '../webhooks/deliveries.js';
import type { OperationDependencies } from './dependencies.js';
import { decodeCursor, linkNextPage, readLimit } from './request.js';

type Query = NonNullable<GetWebhookDeliveriesData['query']>;

/** The spec's default page size. */
const DEFAULT_LIMIT = 100;

export function presentDelivery(delivery: Delivery): WebhookDelivery {
  return {
    webhookId: delivery.webhookId,
    eventId: delivery.eventId,
    type: delivery.type,
    url: displayUrl(delivery.url),
    status: delivery.status,
    attempts: delivery.attempts,
    createdAt: delivery.createdAt.toISOString(),
    lastAttemptAt: delivery.lastAttemptAt?.toISOString() ?? null,
    nextAttemptAt: delivery.nextAttemptAt?.toISOString() ?? null,
    lastStatus: delivery.lastStatus,
    lastError: delivery.lastError,
  };
}

export function getWebhookDeliveries({ listDeliveries }: OperationDependencies) {
  return async (
    req: Request<unknown, WebhookDelivery[], unknown, Record<keyof Query, string | undefined>>,
    res: Response<WebhookDelivery[]>,
  ) => {
    const limit = readLimit(req.query.limit) ?? DEFAULT_LIMIT;
    const { cursor } = req.query;
    const page = await listDeliveries({
      limit,
      after: cursor === undefined ? undefined : decodeCursor(cursor),
    });
    if (page.next !== undefined) linkNextPage(req, res, { limit, next: page.next });
    res.status(200).json(page.deliveries.map(presentDelivery));
  };
}
