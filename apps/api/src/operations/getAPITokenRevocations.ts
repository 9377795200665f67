// GET /tokens/revocations: the revocation feed as Server-Sent Events, resumable with Last-Event-ID; an extension to Axiom's API.
import type { RevocationEvent, RevocationReset } from '@api-tokens/client';
import type { Request, Response } from 'express';
import { ApiError } from '../http/apiError.js';
import { bearerSecret, callerOf } from '../http/auth.js';
import { STREAM_OPENED_AT } from '../http/metrics.js';
import type { FeedEvent } from '../tokens/revocationFeed.js';
import { digestSecret } from '../tokens/secrets.js';
import type { OperationDependencies } from './dependencies.js';

/** A comment line this often, so that clients and proxies can tell a quiet stream from a dead one. */
export const HEARTBEAT_MS = 15_000;

/** Seconds a client should wait before reconnecting when this replica cannot hear revocations. */
const FEED_LOST_RETRY_AFTER_S = 1;

const revocationMessage = (event: FeedEvent) => {
  const data: RevocationEvent = { digests: event.digests, at: event.at.toISOString() };
  return `id: ${event.id}\ndata: ${JSON.stringify(data)}\n\n`;
};

/** `id:` empty: the client forgets its last id, so that its next connection starts afresh. */
const resetMessage = () => {
  const data: RevocationReset = { at: new Date().toISOString() };
  return `event: reset\nid:\ndata: ${JSON.stringify(data)}\n\n`;
};

export function getAPITokenRevocations({ tokens }: OperationDependencies) {
  return (req: Request, res: Response) => {
    let stopped = false;
    let heartbeat: NodeJS.Timeout | undefined;
    let expiry: NodeJS.Timeout | undefined;
    const stop = () => {
      if (stopped) return;
      stopped = true;
      clearInterval(heartbeat);
      clearTimeout(expiry);
      reading?.stop();
    };
    const caller = callerOf(res);
    const secret = bearerSecret(req);
    const reading = tokens.revocationFeed.read(
      {
        send: (event) => {
          res.write(revocationMessage(event));
        },
        // The feed was lost (or the server is stopping): ending the stream tells the client its cache can no longer be trusted.
        end: () => {
          stop();
          res.end();
        },
        // The reader's own token revoked (deleted, reported leaked, regenerated): its stream ends with that event.
        digest: secret === undefined ? undefined : digestSecret(secret).toString('base64url'),
      },
      req.get('last-event-id'),
    );
    if (reading === undefined) {
      throw new ApiError(
        503,
        'this replica is not hearing revocations from the database right now; retry, on another replica or after Retry-After, and keep no cached verdicts meanwhile',
        { headers: { 'Retry-After': String(FEED_LOST_RETRY_AFTER_S) } },
      );
    }
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      // nginx and the like would buffer the stream otherwise.
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    res.locals[STREAM_OPENED_AT] = performance.now();
    if (reading.missed === 'reset') res.write(resetMessage());
    else for (const event of reading.missed) res.write(revocationMessage(event));
    heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS);
    res.once('close', stop);
    // A stream outlives no token: it ends when the reader's token expires (a reconnection then gets 401).
    if (caller.expiresAt !== null) {
      const left = caller.expiresAt.getTime() - Date.now();
      // setTimeout's longest delay is about 24.8 days; a stream open that long is ended then, and reconnects.
      expiry = setTimeout(
        () => {
          stop();
          res.end();
        },
        Math.min(Math.max(left, 0), 2 ** 31 - 1),
      );
      expiry.unref();
    }
  };
}
