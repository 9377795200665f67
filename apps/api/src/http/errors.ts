// The one place errors leave: ApiError, the token rules' refusals, store, body-parser and router errors all become `{ code, message }`.
import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import { StoreUnavailableError } from '../model.js';
import { TokenError, type TokenErrorKind } from '../tokens/errors.js';
import { ApiError } from './apiError.js';
import { redactUrl } from './requestLog.js';
import { describeValidatorError, isValidatorError } from './specValidation.js';

/** How long a client should wait after a 503 before it retries. */
const RETRY_UNAVAILABLE_AFTER_SECONDS = 5;

/** The status each kind of refusal of the token rules answers with. */
const STATUS_OF: Readonly<Record<TokenErrorKind, number>> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
};

interface Described {
  status: number;
  message: string;
  headers?: Readonly<Record<string, string>>;
}

/** A body-parser error: `type` tells what went wrong, `expose` whether its message is safe to show. */
interface BodyParserError extends Error {
  type: string;
  status: number;
  expose?: boolean;
  limit?: number;
}

const isDecompressionError = (err: unknown) =>
  err instanceof Error && /^(Z_|ERR__ERROR_)/.test(String((err as { code?: unknown }).code));

const isBodyParserError = (err: unknown): err is BodyParserError =>
  err instanceof Error &&
  typeof (err as BodyParserError).type === 'string' &&
  typeof (err as BodyParserError).status === 'number';

function describeBodyParserError(err: BodyParserError): { status: number; message: string } {
  switch (err.type) {
    case 'entity.too.large':
      return {
        status: 413,
        message: `body: the request body is larger than the limit of ${(err.limit ?? 0) / 1024} KiB`,
      };
    case 'entity.parse.failed':
      return { status: 400, message: 'body: malformed JSON' };
    case 'entity.verify.failed': // the only verification is verifyUtf8's
      return { status: 400, message: 'body: not valid UTF-8' };
    case 'encoding.unsupported':
      return { status: 415, message: 'Content-Encoding: unsupported, send the body uncompressed' };
    default:
      return {
        status: err.status,
        message: err.expose ? `body: ${err.message}` : 'body: the request body could not be read',
      };
  }
}

/** Status, caller-safe message and headers for any error; 5xx never carry internals. */
export function describeError(err: unknown, req: Request): Described {
  if (err instanceof ApiError) return { status: err.status, message: err.message, headers: err.headers };
  if (err instanceof TokenError) return { status: STATUS_OF[err.kind], message: err.message };
  if (err instanceof StoreUnavailableError) {
    return {
      status: 503,
      message: `the token store is unavailable (${err.reason}); nothing was changed, retry later`,
      headers: { 'Retry-After': String(RETRY_UNAVAILABLE_AFTER_SECONDS) },
    };
  }
  let described: Described = { status: 500, message: 'internal server error' };
  if (isBodyParserError(err)) described = describeBodyParserError(err);
  // express-openapi-validator's refusals; a 5xx from it is an answer that breaks the spec.
  else if (isValidatorError(err) && err.status >= 400 && err.status < 500) {
    described = { status: err.status, message: describeValidatorError(err, req), headers: err.headers };
  }
  // zlib under the body parser (Z_… for gzip and deflate, ERR__ERROR_… for brotli): a body that is not what its Content-Encoding says.
  else if (isDecompressionError(err)) {
    described = { status: 400, message: 'body: does not decode as its Content-Encoding says' };
  }
  // The router decodes path parameters; a malformed %-escape there is the client's.
  else if (err instanceof URIError)
    described = { status: 400, message: `path: malformed %-encoding in ${redactUrl(req.path)}` };
  if (described.status < 400 || described.status >= 500)
    return { status: 500, message: 'internal server error' };
  return described;
}

export const notFound: RequestHandler = (req) => {
  throw new ApiError(404, `${req.method} ${redactUrl(req.path)}: no such route`);
};

export const errorHandler: ErrorRequestHandler = (err, req, res, next) => {
  if (res.headersSent) {
    next(err);
    return;
  }
  const { status, message, headers } = describeError(err, req);
  // Said on the request's one log line (logRequests), not on a line of its own.
  if (status === 500) res.locals.failure = { err };
  else if (err instanceof StoreUnavailableError) res.locals.failure = { storeUnavailable: err.reason };
  if (headers !== undefined) res.set(headers);
  if (status === 401) {
    // RFC 6750 §3: say which scheme to use, and that the token sent (if any) was refused.
    const sentToken = req.get('authorization') !== undefined;
    res.set('WWW-Authenticate', `Bearer realm="api-tokens"${sentToken ? ', error="invalid_token"' : ''}`);
  }
  res.status(status).json({ code: status, message });
};
