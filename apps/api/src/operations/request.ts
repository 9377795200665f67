// Request syntax the token rules never see: RFC 3339 and Go's zero time, listing cursors, and where a field sat in the request.
import type { CreateApiToken } from '@api-tokens/client';
import type { Request, Response } from 'express';
import { badRequest } from '../http/apiError.js';
import { TokenError } from '../tokens/errors.js';
import type { ListPosition, TokenRequest } from '../tokens/service.js';

/** The last instant an RFC 3339 date-time can name in UTC. */
const LAST_RFC3339_INSTANT = Date.parse('9999-12-31T23:59:59.999Z');

/** Go's zero time.Time, which Axiom's Go client sends for "no expiry". */
const GO_ZERO_TIME = new Date('0001-01-01T00:00:00Z').getTime();

/** An RFC 3339 date-time the spec's DateTime pattern has let through, as a Date; `field` names it in errors. */
export function readDate(field: string, value: string): Date {
  // Date cannot parse a leap second; RFC 3339's 23:59:60 is the instant the next minute starts.
  const leap = /^(.*[Tt]\d\d:\d\d:)60(\.\d+)?(.*)$/.exec(value);
  const date = leap
    ? new Date(new Date(`${leap[1]}59${leap[2] ?? ''}${leap[3]}`).getTime() + 1000)
    : new Date(value);
  if (Number.isNaN(date.getTime())) throw badRequest(`${field}: not a valid RFC 3339 date-time`);
  // Beyond this, toISOString() answers a six-digit year, which is no RFC 3339 date-time.
  if (date.getTime() > LAST_RFC3339_INSTANT)
    throw badRequest(`${field}: must be before the year 10000 in UTC`);
  return date;
}

/** An `ExpiresAt`: null for never (null, absent, or Go's zero time), else the date it names. */
export function readExpiry(field: string, value: string | null | undefined): Date | null {
  if (value == null) return null;
  const date = readDate(field, value);
  return date.getTime() === GO_ZERO_TIME ? null : date;
}

/** A `CreateAPIToken` body (at `field`, such as `body` or `body.newToken`) as the token rules take it. */
export function readTokenRequest(field: string, body: CreateApiToken): TokenRequest {
  return {
    ...body,
    expiresAt: readExpiry(`${field}.expiresAt`, body.expiresAt),
    // Go's zero time means "not set" here too: from its creation.
    notBefore: readExpiry(`${field}.notBefore`, body.notBefore),
  };
}

/**
 * A `limit` query parameter. The validator has checked it against the spec's range and coerced it
 * to a number, but a run of hundreds of digits coerces to Infinity and slips past its bounds check.
 */
export function readLimit(raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  const limit = Number(raw);
  if (!Number.isSafeInteger(limit)) throw badRequest('query.limit: must be a whole number');
  return limit;
}

/** Cursors are opaque to clients: base64url of "p<position>". */
export function encodeCursor(position: ListPosition): string {
  return Buffer.from(`p${position}`, 'utf8').toString('base64url');
}

/**
 * Sets `Link: <…>; rel="next"` (RFC 8288) to this path with `query` (the filters, unset ones left
 * out), `limit`, and the cursor of `next`: the page after this one.
 */
export function linkNextPage(
  req: Pick<Request, 'baseUrl' | 'path'>,
  res: Pick<Response, 'set'>,
  {
    query = {},
    limit,
    next,
  }: { query?: Record<string, string | undefined>; limit: number; next: ListPosition },
): void {
  const given = Object.entries(query).filter((entry): entry is [string, string] => entry[1] !== undefined);
  const params = new URLSearchParams([...given, ['limit', String(limit)], ['cursor', encodeCursor(next)]]);
  res.set('Link', `<${req.baseUrl}${req.path}?${params}>; rel="next"`);
}

export function decodeCursor(cursor: string): ListPosition {
  const match = /^p(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (match?.[1] === undefined) {
    throw badRequest(
      'query.cursor: not a cursor this server gave out; pass the one from the Link header unchanged',
    );
  }
  return Number(match[1]);
}

/**
 * Rethrows a refusal of the token rules with its field named as the request carries it: the
 * caller's token in `Authorization`, a path parameter by its name, anything else in the body.
 */
export function inRequest(pathParameters: readonly string[] = []): (err: unknown) => never {
  return (err) => {
    if (!(err instanceof TokenError)) throw err;
    const [first, ...rest] = err.field;
    if (first === undefined || pathParameters.includes(String(first))) throw err;
    if (first === 'caller') throw new TokenError(err.kind, err.reason, ['Authorization', ...rest]);
    throw err.at(['body']);
  };
}
