// The structured JSON logger; secrets are redacted at the source so no log line can carry one.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type DestinationStream, type Logger, pino } from 'pino';

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, destination);
}

/**
 * What a request log line keeps: enough to trace a request, no headers. Leaving headers out, rather
 * than only redacting them, keeps credentials out even under a header name nobody thought of.
 */
export const requestLogSerializers = {
  req: (req: IncomingMessage & { id?: unknown; raw?: IncomingMessage }) => {
    const raw = req.raw ?? req;
    return { id: req.id, method: raw.method, url: raw.url, remoteAddress: raw.socket?.remoteAddress };
  },
  res: (res: ServerResponse & { raw?: ServerResponse }) => ({ statusCode: (res.raw ?? res).statusCode }),
};
