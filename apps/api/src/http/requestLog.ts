// Request logging: one JSON line per request when its answer is done, with the few fields worth keeping.
import type { Express as ExpressApp, Request, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { SECRET_PREFIX } from '../tokens/secrets.js';
import { uuidv7 } from '../uuid.js';

declare global {
  namespace Express {
    interface Request {
      /**
       * A UUIDv7: unique across processes and restarts, in the order requests arrived; every line
       * logged about the request carries it, and so does any audit event the request causes.
       */
      id: string;
      /** A logger bound to this request's id; made on first use, which is rare (errors). */
      log: Logger;
    }
  }
}

/** Query parameters whose value is a credential by name, whatever it looks like (OAuth's and others'). */
const SECRET_PARAMETERS = new Set([
  'access_token',
  'token',
  'api_key',
  'apikey',
  'key',
  'secret',
  'password',
]);

const REDACTED = '[redacted]';

/** What makes a piece of a URL differ from its decoded form, or starts a query: then it is read in full. */
const MAY_HIDE_A_SECRET = /[?%+]/;

const decode = (text: string) => {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    return text;
  }
};

/** Whether a piece of a URL (decoded, in any case) carries something shaped like a token secret. */
const holdsSecret = (text: string) => decode(text).toLowerCase().includes(SECRET_PREFIX);

/**
 * A request target fit for logs and error messages: each path segment or query value that carries
 * a token secret (`xaat-…`), and the value of every query parameter named like a credential, is
 * replaced by `[redacted]`; the rest is kept as sent, so a line still says what was asked.
 */
export function redactUrl(url: string): string {
  // Most targets have no query, no escapes and no secret: kept as sent without splitting and decoding.
  if (!MAY_HIDE_A_SECRET.test(url) && !url.toLowerCase().includes(SECRET_PREFIX)) return url;
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  const safePath = path
    .split('/')
    .map((segment) => (holdsSecret(segment) ? REDACTED : segment))
    .join('/');
  if (queryAt === -1) return safePath;
  const query = url
    .slice(queryAt + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      const name = equals === -1 ? pair : pair.slice(0, equals);
      if (holdsSecret(name)) return REDACTED;
      if (equals === -1) return pair;
      const value = pair.slice(equals + 1);
      return SECRET_PARAMETERS.has(decode(name).toLowerCase()) || holdsSecret(value)
        ? `${name}=${REDACTED}`
        : pair;
    })
    .join('&');
  return `${safePath}?${query}`;
}

/**
 * A request's log level by its status: a bug (5xx) is an error, but a 503 is the environment's
 * (the store is away, the client may retry), a warning.
 */
const levelOf = (status: number): 'info' | 'warn' | 'error' =>
  status === 503 ? 'warn' : status >= 500 ? 'error' : 'info';

/**
 * Logs each request once, on 'close' (and its arrival at debug level): method, URL (secrets redacted), client address, status,
 * duration and the authenticated token's id, never a header, so no credential can reach a log line. A request whose
 * answer was not finished (the client went away) is logged as aborted.
 *
 * Hand-written rather than pino-http: that makes a child logger and attaches several listeners to
 * every request, which profiling showed to be about a tenth of a cached read's CPU time. Here the
 * child logger is made only when something logs about the request, via the app's request prototype.
 */
export function logRequests(app: ExpressApp, logger: Logger): RequestHandler {
  Object.defineProperty(app.request, 'log', {
    configurable: true,
    get(this: Request) {
      const child = logger.child({ reqId: this.id });
      Object.defineProperty(this, 'log', { value: child });
      return child;
    },
  });
  return (req, res, next) => {
    const started = performance.now();
    req.id = uuidv7();
    // Its fields are built only when the line is written: at info level, not at all.
    if (logger.isLevelEnabled('debug')) {
      logger.debug(
        { reqId: req.id, req: { method: req.method, url: redactUrl(req.originalUrl) } },
        'request received',
      );
    }
    res.once('close', () => {
      const fields = {
        reqId: req.id,
        req: {
          method: req.method,
          url: redactUrl(req.originalUrl),
          // The TCP peer (behind a proxy: the proxy), and the client address the rate limits and
          // the audit trail use (X-Forwarded-For as far as TRUST_PROXY trusts it).
          remoteAddress: req.socket.remoteAddress,
          clientAddress: req.ip,
        },
        res: { statusCode: res.statusCode },
        tokenId: res.locals.caller?.id,
        responseTime: Math.round(performance.now() - started),
        ...res.locals.failure,
      };
      if (!res.writableFinished) logger.warn(fields, 'request aborted');
      else logger[levelOf(res.statusCode)](fields, 'request completed');
    });
    next();
  };
}
