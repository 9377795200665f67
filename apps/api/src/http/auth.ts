// Authentication (bearer secret → caller) and authorization (the operation's x-required-capabilities).
import type { Request, RequestHandler } from 'express';
import { unauthorized } from '../errors.js';
import type { OperationObject } from '../spec.js';
import { assertHoldsRequired } from '../tokens/capabilities.js';
import type { Caller, TokenService } from '../tokens/service.js';
import type { FailedAuthenticationLimiter } from './rateLimits.js';

declare global {
  namespace Express {
    interface Locals {
      /** Set by `authenticate` on every request under the API base path. */
      caller?: Caller;
    }
  }
}

/** RFC 6750: the scheme name is case-insensitive; the credential is a single token68-like word. */
const BEARER = /^bearer +([\x21-\x7e]+) *$/i;

/**
 * Resolves the bearer secret to its token before anything else reads the request. It runs ahead of
 * body parsing and validation, so an anonymous client learns nothing about the request it sent.
 */
export function authenticate(tokens: TokenService, failures: FailedAuthenticationLimiter): RequestHandler {
  return async (req, res, next) => {
    const address = req.socket.remoteAddress ?? 'unknown';
    await failures.assertNotBlocked(address);
    const refuse = async (message: string): Promise<never> => {
      await failures.recordFailure(address);
      throw unauthorized(message);
    };
    const header = req.get('authorization');
    if (header === undefined || header.trim() === '') {
      return refuse('Authorization: a bearer token is required (Authorization: Bearer <token>)');
    }
    const secret = BEARER.exec(header)?.[1];
    if (secret === undefined) return refuse("Authorization: malformed header, expected 'Bearer <token>'");
    const caller = await tokens.authenticate(secret);
    if (caller === undefined) return refuse('Authorization: the bearer token is unknown, revoked or expired');
    res.locals.caller = caller;
    next();
  };
}

/**
 * The validator's handler for the spec's `bearerAuth` scheme: the caller is already authenticated,
 * so what is left is to check the capabilities the operation declares in `x-required-capabilities`.
 */
export function authorize(req: Request): true {
  const caller = req.res?.locals.caller;
  if (caller === undefined) throw unauthorized('Authorization: a bearer token is required');
  const operation = (req as Request & { openapi?: { schema?: OperationObject } }).openapi?.schema;
  assertHoldsRequired(caller, operation?.['x-required-capabilities'] ?? {});
  return true;
}
