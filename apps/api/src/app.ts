// createApp(): the Express app, from its dependencies; opening ports and stores is index.ts's job.
import express, { type ErrorRequestHandler, type Express, Router } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import type { CounterFactory } from './counters.js';
import { authenticate } from './http/auth.js';
import { requireJsonBody, verifyUtf8 } from './http/charset.js';
import { CONSOLE_ROUTES, type ConsoleFiles, serveConsole } from './http/console.js';
import { crossOrigin } from './http/cors.js';
import { API_REFERENCE_ROUTES, type ApiReference, serveApiReference } from './http/docs.js';
import { errorHandler, notFound } from './http/errors.js';
import type { Metrics } from './http/metrics.js';
import {
  DEFAULT_RATE_LIMITS,
  FailedAuthenticationLimiter,
  LeakReportLimiter,
  limitRequestsPerToken,
  type RateLimitConfig,
  TokenRequestLimiter,
} from './http/rateLimits.js';
import { logRequests } from './http/requestLog.js';
import { StoreUnavailableError } from './model.js';
import { mountOperations } from './operations/index.js';
import type { OpenApiDocument } from './spec.js';
import type { TokenService } from './tokens/service.js';
import type { ListDeliveries } from './webhooks/deliveries.js';

export interface AppDependencies {
  tokens: TokenService;
  spec: OpenApiDocument;
  logger: Logger;
  /** Check every answer against the spec too; on in development and tests, off in production for speed. */
  validateResponses: boolean;
  rateLimits: RateLimitConfig;
  /** Browser origins allowed to call the API (CORS_ORIGINS); none by default, so CORS is off. */
  corsOrigins?: readonly string[];
  /**
   * Express's `trust proxy` setting (TRUST_PROXY): which peers may name the client address in
   * X-Forwarded-For. False (the default) trusts none: the client address is the TCP peer's.
   */
  trustProxy?: boolean | number | string | readonly string[];
  /** Resolves when the store answers, rejects (StoreUnavailableError) when not: GET /readyz. */
  checkReady?: () => Promise<void>;
  /** The store's rate-limit counters (OpenedStore.rateLimitCounters): shared by every replica on PostgreSQL; default in memory. */
  rateLimitCounters?: CounterFactory;
  /** Prometheus metrics (METRICS), measured here and served by the metrics listener; none: nothing is measured. */
  metrics?: Metrics;
  /** The spec, served at /docs, /openapi.json and /openapi.yaml (DOCS); none: those answer 404. */
  apiReference?: ApiReference;
  /** Told of each request that failed because the store is unavailable (it answers 503): an outage's evidence. */
  onStoreUnavailable?: (err: StoreUnavailableError) => void;
  /** The web console's built files, served at /console/ (CONSOLE); none: /console/ answers 404. */
  consoleFiles?: ConsoleFiles;
  /** The webhook outbox's deliveries (GET /webhooks/deliveries); none: an empty list. */
  listDeliveries?: ListDeliveries;
}

export function createApp({
  tokens,
  spec,
  logger,
  validateResponses,
  rateLimits,
  corsOrigins = [],
  trustProxy = false,
  checkReady = async () => {},
  rateLimitCounters,
  metrics,
  apiReference,
  onStoreUnavailable,
  consoleFiles,
  listDeliveries = async () => ({ deliveries: [] }),
}: AppDependencies): Express {
  const basePath = spec.servers[0]?.url ?? '/';
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('trust proxy', trustProxy);
  if (metrics !== undefined) {
    const otherRoutes = [
      '/healthz',
      '/readyz',
      ...(apiReference === undefined ? [] : API_REFERENCE_ROUTES),
      ...(consoleFiles === undefined ? [] : CONSOLE_ROUTES),
    ];
    app.use(metrics.observeRequests(spec, otherRoutes));
  }
  app.use(helmet());
  app.use(logRequests(app, logger));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // Readiness, for a load balancer: liveness (/healthz) plus a store that answers; 503 when it does not.
  app.get('/readyz', async (_req, res) => {
    await checkReady();
    res.json({ status: 'ok' });
  });

  const tokenRequests = new TokenRequestLimiter(rateLimits.requestsPerTokenPerSecond, rateLimitCounters);
  const leakReports = new LeakReportLimiter(
    rateLimits.leakReportsPerMinute ?? (DEFAULT_RATE_LIMITS.leakReportsPerMinute as number),
    rateLimitCounters,
  );
  const readBody = [
    requireJsonBody,
    express.json({ limit: spec.info['x-max-request-body-bytes'], verify: verifyUtf8 }),
  ];

  // Everything under the base path in one router: each layer below is matched once per request.
  const api = Router();
  // Before authentication: a browser's preflight carries no credentials.
  if (corsOrigins.length > 0) api.use(crossOrigin(corsOrigins));
  const authenticateCaller = authenticate(
    tokens,
    new FailedAuthenticationLimiter(rateLimits.failedAuthPerMinute, rateLimitCounters),
    metrics?.observeAuthentication,
  );
  mountOperations(
    api,
    spec,
    { tokens, tokenRequests, leakReports, listDeliveries },
    {
      authenticate: authenticateCaller,
      validateResponses,
      limitCaller: limitRequestsPerToken(tokenRequests),
      readBody,
    },
  );
  // A path of none of the operations is authenticated too, before the app's 404: an anonymous client
  // learns nothing about which paths exist.
  api.use(authenticateCaller);
  app.use(basePath, api);
  // After the API, so that its requests do not pass these routes first. /metrics is not here: it
  // has a listener of its own (metricsListener.ts).
  if (apiReference !== undefined) app.use(serveApiReference(apiReference));
  if (consoleFiles !== undefined) app.use(serveConsole(consoleFiles));

  app.use(notFound);
  if (metrics !== undefined) app.use(metrics.observeErrors());
  if (onStoreUnavailable !== undefined) {
    app.use(((err, _req, _res, next) => {
      if (err instanceof StoreUnavailableError) onStoreUnavailable(err);
      next(err);
    }) satisfies ErrorRequestHandler);
  }
  app.use(errorHandler);
  return app;
}
