// GET /audit/events: the audit trail, newest first, filtered, a page at a time with an RFC 8288 Link to the next.
import type { AuditEvent, GetAuditEventsData } from '@api-tokens/client';
import type { Request, Response } from 'express';
import type { OperationDependencies } from './dependencies.js';
import { presentAuditEvent } from './present.js';
import { decodeCursor, linkNextPage, readDate, readLimit } from './request.js';

type Query = NonNullable<GetAuditEventsData['query']>;

/** The spec's default page size. */
const DEFAULT_LIMIT = 100;

export function getAuditEvents({ tokens }: OperationDependencies) {
  return async (
    req: Request<unknown, AuditEvent[], unknown, Record<keyof Query, string | undefined>>,
    res: Response<AuditEvent[]>,
  ) => {
    const { type, tokenId, since, until, cursor } = req.query;
    const limit = readLimit(req.query.limit) ?? DEFAULT_LIMIT;
    const page = await tokens.auditEvents({
      limit,
      after: cursor === undefined ? undefined : decodeCursor(cursor),
      type: type as Query['type'],
      // Ids are stored in lower case; the spec's uuid format accepts either.
      tokenId: tokenId?.toLowerCase(),
      since: since === undefined ? undefined : readDate('query.since', since),
      until: until === undefined ? undefined : readDate('query.until', until),
    });
    if (page.next !== undefined) {
      linkNextPage(req, res, { query: { type, tokenId, since, until }, limit, next: page.next });
    }
    res.status(200).json(page.events.map(presentAuditEvent));
  };
}
