// Operations by operationId, mounted on the spec's own paths: the code never retypes a route.
import { type RequestHandler, type Response, Router } from 'express';
import { unauthorized } from '../errors.js';
import type { OpenApiDocument } from '../spec.js';
import type { Caller, TokenService } from '../tokens/service.js';
import { createAPIToken } from './createAPIToken.js';
import { deleteAPIToken } from './deleteAPIToken.js';
import { getAPIToken } from './getAPIToken.js';
import { getAPITokens } from './getAPITokens.js';
import { regenerateAPIToken } from './regenerateAPIToken.js';

export interface OperationDependencies {
  tokens: TokenService;
}

/** Each operation narrows the request and response types to its own, from the generated types. */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds handlers of different request types.
type OperationHandler = RequestHandler<any, any, any, any>;

/** One entry per operationId of the spec; a spec operation without one here stops start-up. */
const operations: Record<string, (deps: OperationDependencies) => OperationHandler> = {
  createAPIToken,
  deleteAPIToken,
  getAPIToken,
  getAPITokens,
  regenerateAPIToken,
};

/** The authenticated caller; `authenticate` runs ahead of every operation, so it is always there. */
export function callerOf(res: Response): Caller {
  if (res.locals.caller === undefined) throw unauthorized('Authorization: a bearer token is required');
  return res.locals.caller;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** '/tokens/{id}' → '/tokens/:id' */
const toExpressPath = (path: string) => path.replace(/\{([^}]+)\}/g, ':$1');

export function operationsRouter(spec: OpenApiDocument, deps: OperationDependencies): Router {
  const router = Router();
  const mounted = new Set<string>();
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (operation === undefined) continue;
      const makeHandler = operations[operation.operationId];
      if (makeHandler === undefined)
        throw new Error(`spec: no handler for operation ${operation.operationId}`);
      // Authorization reads this; an operation without it would be open to any token, so none may lack it.
      if (operation['x-required-capabilities'] === undefined) {
        throw new Error(`spec: operation ${operation.operationId} has no x-required-capabilities`);
      }
      router[method](toExpressPath(path), makeHandler(deps));
      mounted.add(operation.operationId);
    }
  }
  const unused = Object.keys(operations).filter((operationId) => !mounted.has(operationId));
  if (unused.length > 0)
    throw new Error(`spec: handlers for operations it does not define: ${unused.join(', ')}`);
  return router;
}
