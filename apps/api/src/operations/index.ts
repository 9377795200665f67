// Operations by operationId, mounted on the spec's own paths: the code never retypes a route.
import type { RequestHandler, Router } from 'express';
import { ApiError } from '../http/apiError.js';
import { authorize } from '../http/auth.js';
import { redactUrl } from '../http/requestLog.js';
import { validateAgainstSpec } from '../http/specValidation.js';
import { METHODS, type OpenApiDocument, toExpressPath } from '../spec.js';
import { createAPIToken } from './createAPIToken.js';
import { deleteAPIToken } from './deleteAPIToken.js';
import type { OperationDependencies } from './dependencies.js';
import { getAPIToken } from './getAPIToken.js';
import { getAPITokens } from './getAPITokens.js';
import { getAuditEvents } from './getAuditEvents.js';
import { getCurrentAPIToken } from './getCurrentAPIToken.js';
import { regenerateAPIToken } from './regenerateAPIToken.js';
import { verifyAPIToken } from './verifyAPIToken.js';

/** Each operation narrows the request and response types to its own, from the generated types. */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds handlers of different request types.
type OperationHandler = RequestHandler<any, any, any, any>;

/** One entry per operationId of the spec; a spec operation without one here stops start-up. */
const operations: Record<string, (deps: OperationDependencies) => OperationHandler> = {
  createAPIToken,
  deleteAPIToken,
  getAPIToken,
  getAPITokens,
  getAuditEvents,
  getCurrentAPIToken,
  regenerateAPIToken,
  verifyAPIToken,
};

/**
 * Operations whose requests do not count against the caller's own rate limit: a verification
 * counts against the token verified instead (verifyAPIToken.ts).
 */
const NOT_COUNTED_AGAINST_CALLER: ReadonlySet<string> = new Set(['verifyAPIToken']);

function methodNotAllowed(allowed: readonly string[]): RequestHandler {
  const allow = allowed.join(', ');
  return (req) => {
    throw new ApiError(405, `${req.method} ${redactUrl(req.baseUrl + req.path)}: method not allowed`, {
      headers: { Allow: allow },
    });
  };
}

export interface MountOptions {
  /**
   * Resolves the bearer token, first on each path: inside the route rather than ahead of the router,
   * so that even a refused request has a matched route (metrics label it by its path template).
   */
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
 * for: authentication, the caller's rate limit, the capabilities of `x-required-capabilities`, then (for operations that take a body) reading
 * the body, then express-openapi-validator's check of the request's parameters and body (and, when
 * asked, of the answer). Other methods on a path answer 405 with the ones it has (HEAD too: the spec
 * documents none), and unknown paths fall through to the app's 404, so the validator only ever sees
 * requests for a documented operation. One route per path, so a request is matched against each
 * path once, not once per method.
 */
export function mountOperations(
  router: Router,
  spec: OpenApiDocument,
  deps: OperationDependencies,
  { authenticate, validateResponses, readBody, limitCaller }: MountOptions,
): void {
  const validate = validateAgainstSpec(spec, { validateResponses });
  const mounted = new Set<string>();
  for (const [path, item] of Object.entries(spec.paths)) {
    const route = router.route(toExpressPath(path));
    const allowed = METHODS.filter((method) => item[method] !== undefined).map((method) =>
      method.toUpperCase(),
    );
    route.all(authenticate);
    // Express would answer HEAD with the GET handler; refused first.
    route.head(methodNotAllowed(allowed));
    for (const method of METHODS) {
      const operation = item[method];
      if (operation === undefined) continue;
      const makeHandler = operations[operation.operationId];
      if (makeHandler === undefined)
        throw new Error(`spec: no handler for operation ${operation.operationId}`);
      const counted = limitCaller !== undefined && !NOT_COUNTED_AGAINST_CALLER.has(operation.operationId);
      route[method](
        ...(counted ? [limitCaller] : []),
        authorize(operation),
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
