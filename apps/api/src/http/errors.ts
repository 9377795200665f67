// The one place errors leave: ApiError, validator and body-parser errors all become `{ code, message }`.
import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import { ApiError } from '../errors.js';
import { StoreUnavailableError } from '../store/store.js';

/** How long a client should wait after a 503 before it retries. */
const RETRY_UNAVAILABLE_AFTER_SECONDS = 5;

interface Described {
  status: number;
  message: string;
  headers?: Readonly<Record<string, string>>;
}

/** How many validation problems one message lists; the rest are counted, so a hostile body cannot bloat it. */
const MAX_LISTED_PROBLEMS = 5;

interface ValidationProblem {
  path?: string;
  message?: string;
  /** '<ajv keyword>.openapi.validation' */
  errorCode?: string;
}

/** An express-openapi-validator error: a status and the problems it found, each with the path at fault. */
interface ValidatorError extends Error {
  status: number;
  errors?: ValidationProblem[];
  headers?: Record<string, string>;
}

/** A body-parser error: `type` tells what went wrong, `expose` whether its message is safe to show. */
interface BodyParserError extends Error {
  type: string;
  status: number;
  expose?: boolean;
  limit?: number;
}

const isValidatorError = (err: unknown): err is ValidatorError =>
  err instanceof Error &&
  typeof (err as ValidatorError).status === 'number' &&
  Array.isArray((err as ValidatorError).errors);

const isBodyParserError = (err: unknown): err is BodyParserError =>
  err instanceof Error &&
  typeof (err as BodyParserError).type === 'string' &&
  typeof (err as BodyParserError).status === 'number';

/** '/body/orgCapabilities/billing/0' → 'body.orgCapabilities.billing[0]'; undefined for a route path. */
function fieldName(path: string | undefined): string | undefined {
  const match = /^[/.]?(body|query|headers|path|params|cookies)([/.].*)?$/s.exec(path ?? '');
  if (match === null) return undefined;
  const segments = (match[2] ?? '').split(/[/.]/).filter((segment) => segment !== '');
  return segments.reduce(
    (name, segment) =>
      /^\d+$/.test(segment)
        ? `${name}[${segment}]`
        : `${name}.${segment.replaceAll('~1', '/').replaceAll('~0', '~')}`,
    match[1] === 'params' ? 'path' : (match[1] as string),
  );
}

/**
 * A nullable field (`anyOf: [schema, null]`) that fails its schema also fails the null branch and
 * the anyOf itself; those two say nothing the first problem does not, so they are left out.
 */
const isAnyOfEcho = (problem: ValidationProblem) =>
  problem.errorCode === 'anyOf.openapi.validation' ||
  (problem.errorCode === 'type.openapi.validation' && problem.message === 'must be null');

function describeProblems(err: ValidatorError): string {
  const all = err.errors ?? [];
  const specific = all.filter((problem) => !isAnyOfEcho(problem));
  const problems = (specific.length > 0 ? specific : all).map((problem) => {
    const field = fieldName(problem.path);
    const message = problem.message ?? err.message;
    return field === undefined || message.startsWith(field) ? message : `${field}: ${message}`;
  });
  if (problems.length === 0) return err.message;
  const listed = problems.slice(0, MAX_LISTED_PROBLEMS).join('; ');
  const more = problems.length - MAX_LISTED_PROBLEMS;
  return more > 0 ? `${listed}; and ${more} more` : listed;
}

function describeBodyParserError(err: BodyParserError): { status: number; message: string } {
  switch (err.type) {
    case 'entity.too.large':
      return {
        status: 413,
        message: `body: the request body is larger than the limit of ${(err.limit ?? 0) / 1024} KiB`,
      };
    case 'entity.parse.failed':
      return { status: 400, message: 'body: malformed JSON' };
    case 'entity.verify.failed': // the only verification is requireUtf8's
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

/** The validator's route-level refusals say little; these name the method, path or header concerned. */
function describeValidatorError(err: ValidatorError, req: Request): string {
  switch (err.status) {
    case 404:
      return `${req.method} ${req.path}: no such route`;
    case 405:
      return `${req.method} ${req.path}: method not allowed`;
    case 415: {
      const type = req.get('content-type');
      return type === undefined
        ? 'Content-Type: missing, send the body as application/json'
        : `Content-Type: ${JSON.stringify(type)} is not supported, send the body as application/json`;
    }
    default:
      return describeProblems(err);
  }
}

/** Status, caller-safe message and headers for any error; 5xx never carry internals. */
export function describeError(err: unknown, req: Request): Described {
  if (err instanceof ApiError) return { status: err.status, message: err.message, headers: err.headers };
  if (err instanceof StoreUnavailableError) {
    return {
      status: 503,
      message: `the token store is unavailable (${err.reason}); nothing was changed, retry later`,
      headers: { 'Retry-After': String(RETRY_UNAVAILABLE_AFTER_SECONDS) },
    };
  }
  let described: Described = { status: 500, message: 'internal server error' };
  if (isBodyParserError(err)) described = describeBodyParserError(err);
  else if (isValidatorError(err)) {
    described = { status: err.status, message: describeValidatorError(err, req) };
    if (err.status === 405 && err.headers?.Allow !== undefined)
      described.headers = { Allow: err.headers.Allow };
  }
  if (described.status < 400 || described.status >= 500)
    return { status: 500, message: 'internal server error' };
  return described;
}

export const notFound: RequestHandler = (req) => {
  throw new ApiError(404, `${req.method} ${req.path}: no such route`);
};

export const errorHandler: ErrorRequestHandler = (err, req, res, next) => {
  if (res.headersSent) {
    next(err);
    return;
  }
  const { status, message, headers } = describeError(err, req);
  if (status === 500) req.log.error({ err }, 'request failed');
  else if (status === 503) req.log.warn({ err }, 'token store unavailable');
  if (headers !== undefined) res.set(headers);
  if (status === 401) {
    // RFC 6750 §3: say which scheme to use, and that the token sent (if any) was refused.
    const sentToken = req.get('authorization') !== undefined;
    res.set('WWW-Authenticate', `Bearer realm="api-tokens"${sentToken ? ', error="invalid_token"' : ''}`);
  }
  res.status(status).json({ code: status, message });
};
