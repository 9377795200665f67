// Operations by operationId, mounted on the spec's own paths: the code never retypes a route.
import type { RequestHandler, Router } from 'express';
import { ApiError } from '../http/apiError.js';
import { authorize } from '../http/auth.js';
import { redactUrl } from '../http/requestLog.js';
import { validateAgainstSpec } from '../http/specValidation.js';
import { METHODS, type OpenApiDocument, type OperationObject, toExpressPath } from '../spec.js';
import { createAPIToken } from './createAPIToken.js';
import { deleteAPIToken } from './deleteAPIToken.js';
import type { OperationDependencies } from './dependencies.js';
import { getAPIToken } from './getAPIToken.js';
import { getAPITokenPolicy } from './getAPITokenPolicy.js';
import { getAPITokenRevocations } from './getAPITokenRevocations.js';
import { getAPITokens } from './getAPITokens.js';
import { getAuditEvents } from './getAuditEvents.js';
import { getCurrentAPIToken } from './getCurrentAPIToken.js';
import { getWebhookDeliveries } from './getWebhookDeliveries.js';
import { regenerateAPIToken } from './regenerateAPIToken.js';
import { reportLeakedAPITokens } from './reportLeakedAPITokens.js';
import { verifyAPIToken } from './verifyAPIToken.js';

/** Each operation narrows the request and response types to its own, from the generated types. */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds handlers of different request types.
type OperationHandler = RequestHandler<any, any, any, any>;

/** One entry per operationId of the spec; a spec operation without one here stops start-up. */
const operations: Record<string, (deps: OperationDependencies) => OperationHandler> = {
  createAPIToken,
  deleteAPIToken,
  getAPIToken,
  getAPITokenRevocations,
  getAPITokenPolicy,
  getAPITokens,
  getAuditEvents,
  getCurrentAPIToken,
  getWebhookDeliveries,
  regenerateAPIToken,
  reportLeakedAPITokens,
  verifyAPIToken,
};

/** How many of a path's segments are templates (`{id}`). */
const templated = (path: string) => path.split('/').filter((segment) => segment.startsWith('{')).length;

/** An operation the spec opens to anyone: `security: []` (no Authorization). */
const isPublic = (operation: OperationObject) =>
  Array.isArray(operation.security) && operation.security.length === 0;

function methodNotAllowed(allowed: readonly string[]): RequestHandler {
  const allow = allowed.join(', ');
  return (req) => {
    throw new ApiError(405, `${req.method} ${redactUrl(req.baseUrl + req.path)}: method not allowed`, {
      headers: { Allow: allow },
    });
  };
}

export interface MountOptions {
  /** Authenticates the caller: run first on every path with an operation that needs a token. */
  authenticate: RequestHandler;
  /** Check every answer against the spec too (development and tests). */
  validateResponses: boolean;
  /** What reads a request body; run only for operations that take one. */
  readBody: readonly RequestHandler[];
  /** Counts the request against the caller's rate limit, first; none when the limit is off. */
  limitCaller?: RequestHandler;
}

/**
 * Mounts each of the spec's operations on its own path and method, behind the checks the spec asks
 * for: authentication (on a path whose operations need a token: on every method, so that an
 * anonymous client learns nothing of which methods exist), the caller's rate limit, the
 * capabilities of `x-required-capabilities`, then (for operations that take a body) reading the
 * body, then express-openapi-validator's check of the request's parameters and body (and, when
 * asked, of the answer). An operation the spec opens to anyone (`security: []`) gets none of the
 * caller's checks; a path mixes no such operation with others. Other methods on a path answer 405
 * with the ones it has (HEAD too: the spec documents none), and unknown paths fall through to the
 * app's 404, so the validator only ever sees requests for a documented operation. One route per
 * path, so a request is matched against each path once, not once per method.
 */
export function mountOperations(
  router: Router,
  spec: OpenApiDocument,
  deps: OperationDependencies,
  { authenticate, validateResponses, readBody, limitCaller }: MountOptions,
): void {
  const validate = validateAgainstSpec(spec, { validateResponses });
  const mounted = new Set<string>();
  // Express tries routes in the order they are added: a literal path (/tokens/leaked) before a
  // template that would also match it (/tokens/{id}), whatever order the spec lists them in.
  const paths = Object.entries(spec.paths).sort(([a], [b]) => templated(a) - templated(b));
  for (const [path, item] of paths) {
    const route = router.route(toExpressPath(path));
    const methods = METHODS.filter((method) => item[method] !== undefined);
    const allowed = methods.map((method) => method.toUpperCase());
    const open = methods.filter((method) => isPublic(item[method] as OperationObject));
    if (open.length > 0 && open.length < methods.length)
      throw new Error(`spec: ${path} mixes operations open to anyone with others`);
    const needsToken = open.length === 0;
    if (needsToken) route.all(authenticate);
    // Express would answer HEAD with the GET handler; refused first.
    route.head(methodNotAllowed(allowed));
    for (const method of methods) {
      const operation = item[method] as OperationObject;
      const makeHandler = operations[operation.operationId];
      if (makeHandler === undefined)
        throw new Error(`spec: no handler for operation ${operation.operationId}`);
      route[method](
        ...(needsToken && limitCaller !== undefined ? [limitCaller] : []),
        ...(needsToken ? [authorize(operation)] : []),
        ...(operation.requestBody === undefined ? [] : readBody),
        ...validate,
        makeHandler(deps),
      );
      mounted.add(operation.operationId);
    }
    route.all(methodNotAllowed(allowed));
  }
  const unused = Object.keys(operations).filter((operationId) => !mounted.has(operationId));
  if (unused.length > 0)
    throw new Error(`spec: handlers for operations it does not define: ${unused.join(', ')}`);
}
