// The metrics listener: /metrics on a port of its own (METRICS_PORT on METRICS_HOST), never on the public API port.
import express, { type Express } from 'express';
import { errorHandler, notFound } from './errors.js';
import type { Metrics } from './metrics.js';

/**
 * The app behind METRICS_PORT: GET /metrics and nothing else. Live-token counts and failed
 * authentications are for the operator's Prometheus, so they are served apart from the API, on
 * loopback unless METRICS_HOST says otherwise; everything else answers the usual JSON 404.
 */
export function createMetricsApp(metrics: Metrics): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.get('/metrics', metrics.serve());
  app.use(notFound);
  app.use(errorHandler);
  return app;
}
