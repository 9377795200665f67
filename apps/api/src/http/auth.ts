// Authentication (bearer secret → caller) and authorization (the operation's x-required-capabilities).
import type { Request, RequestHandler, Response } from 'express';
import type { Provenance } from '../model.js';
import type { OperationObject } from '../spec.js';
import { assertHoldsRequired } from '../tokens/capabilities.js';
import { TokenError } from '../tokens/errors.js';
import type { Caller, TokenService } from '../tokens/service.js';
import { unauthorized } from './apiError.js';
import type { FailedAuthenticationLimiter } from './rateLimits.js';

declare global {
  namespace Express {
    interface Locals {
      /** Set by `authenticate` on every request under the API base path. */
      caller?: Caller;
    }
  }
}

/**
 * How an authentication ended, for metrics: unknown covers revoked, expired and not yet started
 * tokens too; forbidden, a live token used from outside the networks it is bound to.
 */
export type AuthenticationResult = 'success' | 'missing' | 'malformed' | 'unknown' | 'forbidden';

/** RFC 6750: the scheme name is case-insensitive; the credential is a single token68-like word. */
const BEARER = /^bearer +([\x21-\x7e]+) *$/i;

/**
 * Resolves the bearer secret to its token before anything else reads the request. It runs ahead of
 * body parsing and validation, so an anonymous client learns nothing about the request it sent.
 * The failure limiter is consulted only once an attempt has failed: a valid token is never refused
 * for what others sharing its address (a NAT, a proxy) did.
 */
export function authenticate(
  tokens: TokenService,
  failures: FailedAuthenticationLimiter,
  observe: (result: AuthenticationResult) => void = () => {},
): RequestHandler {
  return async (req, res, next) => {
    const refuse = async (result: AuthenticationResult, message: string): Promise<never> => {
      observe(result);
      const provenance = provenanceOf(req);
      tokens.countRefusedAuthentication(provenance);
      await failures.recordFailure(provenance.address);
      throw unauthorized(message);
    };
    const header = req.get('authorization');
    if (header === undefined || header.trim() === '') {
      return refuse('missing', 'Authorization: a bearer token is required (Authorization: Bearer <token>)');
    }
    const secret = bearerSecret(req);
    if (secret === undefined)
      return refuse('malformed', "Authorization: malformed header, expected 'Bearer <token>'");
    // The client address, as TRUST_PROXY says: a token bound to networks is refused (403) outside them.
    const caller = await tokens.authenticate(secret, provenanceOf(req).address).catch((err: unknown) => {
      if (err instanceof TokenError && err.field[0] === 'caller') {
        observe('forbidden');
        throw new TokenError(err.kind, err.reason, ['Authorization']);
      }
      throw err;
    });
    if (caller === undefined)
      return refuse('unknown', 'Authorization: the bearer token is unknown, revoked or expired');
    observe('success');
    res.locals.caller = caller;
    next();
  };
}

/** Refuses a caller without the capabilities the operation declares in `x-required-capabilities`. */
export function authorize(operation: OperationObject): RequestHandler {
  const required = operation['x-required-capabilities'];
  // An operation without it would be open to any token, so none may lack it.
  if (required === undefined) {
    throw new Error(`spec: operation ${operation.operationId} has no x-required-capabilities`);
  }
  return (_req, res, next) => {
    const caller = res.locals.caller;
    if (caller === undefined) throw unauthorized('Authorization: a bearer token is required');
    assertHoldsRequired(caller, required);
    next();
  };
}

/**
 * Where a request came from, for the audit trail: its id in the request log, and the client's
 * address: the TCP peer, unless TRUST_PROXY names that peer as a proxy, then X-Forwarded-For's client.
 */
export function provenanceOf(req: Pick<Request, 'ip' | 'socket' | 'id'>): Provenance {
  return { address: req.ip ?? req.socket.remoteAddress ?? 'unknown', requestId: req.id };
}

/** The secret of the request's `Authorization: Bearer` header, when it has a well-formed one. */
export function bearerSecret(req: Request): string | undefined {
  const header = req.get('authorization');
  return header === undefined ? undefined : BEARER.exec(header)?.[1];
}

/** The authenticated caller; `authenticate` runs ahead of every operation, so it is always there. */
export function callerOf(res: Response): Caller {
  if (res.locals.caller === undefined) throw unauthorized('Authorization: a bearer token is required');
  return res.locals.caller;
}
