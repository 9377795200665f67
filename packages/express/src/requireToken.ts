// requireToken(): Express middleware that lets a request through only with a live token holding what the route needs.
import {
  type ApiToken,
  type ApiTokenVerdict,
  type Client,
  createClient,
  isWellFormedSecret,
  type RequiredCapabilities,
  verifyApiToken,
} from '@api-tokens/client';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { readBearer } from './bearer.js';
import { invalidName } from './names.js';
import { RevocationFollower } from './revocations.js';
import { cacheKey, VerdictCache } from './verdictCache.js';

/** The guard: Express middleware, and `close()` to stop following the revocation feed (with `revocations`). */
export type TokenGuard = RequestHandler & { close(): void };

declare global {
  // Express's own extension point for what middleware adds to a request (express-serve-static-core).
  namespace Express {
    interface Request {
      /** The token that authorized this request (without its secret), set by `requireToken`. */
      apiToken?: ApiToken;
    }
  }
}

/** What a request's token must hold: fixed, or computed from the request (sync or async). */
export type Requirement =
  | RequiredCapabilities
  | ((req: Request) => RequiredCapabilities | Promise<RequiredCapabilities>);

export interface RequireTokenOptions {
  /** The token service's API base, with its `/v2`: `http://tokens.internal:3000/v2`. */
  baseUrl: string;
  /** This service's own token, sent to the token service; it must hold `apiTokens: read`. */
  serviceToken: string | undefined;
  /** What the request's token must hold; absent, any live token passes. */
  require?: Requirement;
  /** How long to wait for the token service before answering 503 (default 5000). */
  timeoutMs?: number;
  /**
   * How long a verdict is remembered (default 0: every request is verified). This is the
   * worst-case delay for a revocation to reach this service: a token deleted within the last
   * `cacheTtlMs` may still pass here. A valid verdict is never kept past the token's `expiresAt`.
   */
  cacheTtlMs?: number;
  /**
   * Follow the token service's revocation feed (`GET /tokens/revocations`, which the service token
   * may read with `apiTokens: read`) and drop a cached verdict as soon as its token is revoked; on a
   * `reset` or a lost stream, drop them all and verify every request until the stream is back.
   * With it, a long `cacheTtlMs` (minutes) is safe: revocations arrive in milliseconds, and the
   * TTL only bounds what a silent failure could cost. Default false. Call the guard's `close()`
   * to stop following.
   */
  revocations?: boolean;
  /** Told when the revocation feed opens and when it is lost (with `revocations`): for logs and metrics. */
  onRevocationFeed?: (state: { open: boolean }) => void;
  /** At most this many verdicts are remembered (default 10000); the least recently used go first. */
  cacheMaxEntries?: number;
  /** The realm named in `WWW-Authenticate` (default `api-tokens`). */
  realm?: string;
}

/** Seconds a client should wait after a 503 when the token service gave no Retry-After. */
const UNAVAILABLE_RETRY_AFTER_S = 5;

/** Why the guard answers 503 instead of a verdict: the token service did not give one. */
class TokenServiceUnavailable extends Error {
  constructor(
    message: string,
    readonly retryAfter: string = String(UNAVAILABLE_RETRY_AFTER_S),
  ) {
    super(message);
  }
}

const VERDICT_CODES = new Set([
  'VALID',
  'INSUFFICIENT_CAPABILITIES',
  'EXPIRED',
  'NOT_FOUND',
  'NOT_YET_VALID',
  'ADDRESS_NOT_ALLOWED',
  'RATE_LIMITED',
]);

/** The answer's body when it has the shape of a verdict; anything else is the token service misbehaving. */
function asVerdict(data: unknown): ApiTokenVerdict | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const { code, token, missing, retryAfter } = data as Record<string, unknown>;
  if (typeof code !== 'string' || !VERDICT_CODES.has(code)) return undefined;
  const hasToken = typeof token === 'object' && token !== null && typeof (token as ApiToken).id === 'string';
  if ((code === 'VALID' || code === 'INSUFFICIENT_CAPABILITIES') && !hasToken) return undefined;
  if (code === 'INSUFFICIENT_CAPABILITIES' && !Array.isArray(missing)) return undefined;
  if (code === 'RATE_LIMITED' && typeof retryAfter !== 'number') return undefined;
  return data as ApiTokenVerdict;
}

/** The message of the token service's `{code, message}` error body, when it sent one. */
function messageOf(error: unknown): string | undefined {
  const message = (error as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : undefined;
}

/**
 * Express middleware: reads the request's bearer token, asks the token service whether it is live
 * and holds what `require` says (`POST /tokens/verify`), and either sets `req.apiToken` and calls
 * `next()`, or answers `{code, message}` itself: 401 (no token, unknown, revoked or expired, or one
 * that fails the secret format or its checksum, refused without asking the token service), 403
 * (missing capabilities, each named), 429 (the token is over its rate limit), 400 (`require`, computed
 * from the request, names a dataset or view that cannot exist) or 503 (no verdict from the token
 * service: it cannot be reached, is too slow, fails, or refuses this service's own token). A `require`
 * that throws, or that the token service refuses as malformed, goes to `next(err)`. It never lets a
 * request through without a VALID verdict.
 */
export function requireToken(options: RequireTokenOptions): TokenGuard {
  const { baseUrl, serviceToken, require: requirement, timeoutMs = 5000, realm = 'api-tokens' } = options;
  if (typeof baseUrl !== 'string' || baseUrl === '') {
    throw new TypeError('requireToken: baseUrl is required, like http://tokens.internal:3000/v2');
  }
  if (typeof serviceToken !== 'string' || serviceToken === '') {
    throw new TypeError(
      "requireToken: serviceToken is required: this service's own token, holding apiTokens: read",
    );
  }
  if (!(timeoutMs > 0)) throw new TypeError('requireToken: timeoutMs must be a number above 0');
  if (typeof requirement === 'object') {
    const invalid = invalidName(requirement);
    if (invalid !== undefined) throw new TypeError(`requireToken: require: ${invalid}`);
  }
  // Its own client: two guards with different token services or service tokens never share settings.
  const client: Client = createClient({ baseUrl, auth: serviceToken });
  const cache = new VerdictCache(options.cacheTtlMs ?? 0, options.cacheMaxEntries ?? 10_000);
  let follower: RevocationFollower | undefined;
  if (options.revocations === true && cache.ttlMs > 0) {
    // Nothing cached is trusted until the stream is open.
    cache.reset(false);
    follower = new RevocationFollower(baseUrl, serviceToken, {
      opened: () => {
        cache.reset(true);
        options.onRevocationFeed?.({ open: true });
      },
      revoked: (digests) => cache.forgetDigests(digests),
      lost: () => {
        cache.reset(false);
        options.onRevocationFeed?.({ open: false });
      },
    });
  }
  const challenge = (error?: string) =>
    `Bearer realm="${realm.replace(/["\\]/g, '')}"${error === undefined ? '' : `, error="${error}"`}`;

  function refuse(res: Response, status: number, message: string, headers: Record<string, string> = {}) {
    res.status(status).set(headers).json({ code: status, message });
  }

  /** The token service's verdict on `secret`, or an error saying why there is none. */
  async function verify(
    secret: string,
    required: RequiredCapabilities | undefined,
    clientAddress: string | undefined,
  ): Promise<ApiTokenVerdict> {
    // The verdict depends on where the token came from (a token bound to networks), so the address is part of the key.
    const key = cache.ttlMs > 0 ? cacheKey(secret, required, clientAddress) : undefined;
    const cached = key === undefined ? undefined : cache.get(key);
    if (cached !== undefined) return cached;
    const epoch = cache.epoch;

    let answer: Awaited<ReturnType<typeof verifyApiToken>>;
    try {
      answer = await verifyApiToken({
        client,
        body: {
          token: secret,
          ...(required === undefined ? {} : { require: required }),
          // The address this request came from, as Express's trust proxy setting says: a token bound
          // to networks is refused from outside them.
          ...(clientAddress === undefined ? {} : { clientAddress }),
        },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch {
      // The body could not be read in time, or was not JSON.
      throw new TokenServiceUnavailable('the token service sent an answer that could not be read');
    }
    const { data, response } = answer;
    const error: unknown = 'error' in answer ? answer.error : undefined;
    if (response === undefined) {
      const name = (error as { name?: unknown } | undefined)?.name;
      throw new TokenServiceUnavailable(
        name === 'TimeoutError' || name === 'AbortError'
          ? `the token service did not answer within ${timeoutMs} ms`
          : 'the token service cannot be reached',
      );
    }
    const status = response.status;
    if (status === 200) {
      const verdict = asVerdict(data);
      if (verdict === undefined) throw new TokenServiceUnavailable('the token service sent no verdict');
      if (key !== undefined) cache.set(key, verdict, epoch);
      return verdict;
    }
    if (status === 401 || status === 403) {
      // The service's own token is refused: a misconfiguration, never a reason to let anyone in.
      throw new TokenServiceUnavailable(
        `the token service refused this service's own token (HTTP ${status}): the serviceToken must be live and hold apiTokens: read`,
      );
    }
    if (status === 400) {
      // Names are checked before sending, so the route's require itself is wrong (an unknown capability
      // or action, say): a bug for the application's error handler, not the client's doing.
      throw new Error(
        `requireToken: the token service refused the verification of this route's require (HTTP 400): ${messageOf(error) ?? 'no message'}`,
      );
    }
    throw new TokenServiceUnavailable(
      `the token service answered HTTP ${status}`,
      response.headers.get('retry-after') ?? undefined,
    );
  }

  async function guard(req: Request, res: Response, next: NextFunction): Promise<void> {
    const credentials = readBearer(req.get('authorization'));
    if (credentials.kind === 'missing') {
      return refuse(res, 401, 'missing bearer token: send Authorization: Bearer <token>', {
        'WWW-Authenticate': challenge(),
      });
    }
    if (credentials.kind === 'malformed') {
      return refuse(res, 401, 'malformed bearer token: send Authorization: Bearer <token>, the token alone', {
        'WWW-Authenticate': challenge('invalid_token'),
      });
    }
    // Not a secret the token service could have issued (format, checksum): refused here, no call made.
    if (!isWellFormedSecret(credentials.token)) {
      return refuse(
        res,
        401,
        'the bearer token is not a token of this service: check that it was copied whole',
        {
          'WWW-Authenticate': challenge('invalid_token'),
        },
      );
    }
    const required = typeof requirement === 'function' ? await requirement(req) : requirement;
    const invalid = invalidName(required);
    // Computed from the request (a dataset in the path, say): the client asked for something that cannot exist.
    if (invalid !== undefined)
      return refuse(res, 400, `this request names a dataset or view that cannot exist: ${invalid}`);

    let verdict: ApiTokenVerdict;
    try {
      verdict = await verify(credentials.token, required, req.ip);
    } catch (err) {
      if (err instanceof TokenServiceUnavailable) {
        return refuse(res, 503, `cannot check the bearer token: ${err.message}; retry later`, {
          'Retry-After': err.retryAfter,
        });
      }
      throw err;
    }

    switch (verdict.code) {
      case 'VALID':
        req.apiToken = verdict.token;
        return next();
      case 'INSUFFICIENT_CAPABILITIES':
        return refuse(
          res,
          403,
          `the bearer token lacks what this request needs: ${verdict.missing.join(', ')}`,
          {
            'WWW-Authenticate': challenge('insufficient_scope'),
          },
        );
      case 'RATE_LIMITED':
        return refuse(res, 429, `too many requests with this token: retry after ${verdict.retryAfter} s`, {
          'Retry-After': String(verdict.retryAfter),
        });
      case 'ADDRESS_NOT_ALLOWED':
        return refuse(
          res,
          403,
          `the bearer token may not be used from ${req.ip ?? 'an unknown address'}, which is outside the networks it is bound to`,
        );
      case 'NOT_YET_VALID':
        return refuse(res, 401, 'the bearer token is not valid yet: its notBefore has not come', {
          'WWW-Authenticate': challenge('invalid_token'),
        });
      case 'EXPIRED':
        return refuse(res, 401, 'the bearer token has expired: use a live token', {
          'WWW-Authenticate': challenge('invalid_token'),
        });
      default:
        return refuse(res, 401, 'the bearer token is unknown or revoked', {
          'WWW-Authenticate': challenge('invalid_token'),
        });
    }
  }

  // Express 4 ignores a promise a middleware returns: failures (a throwing `require`) go to next(err).
  const middleware: RequestHandler = (req, res, next) => {
    guard(req, res, next).catch(next);
  };
  return Object.assign(middleware, {
    close: () => follower?.close(),
  });
}
