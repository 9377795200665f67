// Prometheus metrics: a registry per app, the request-duration histogram, token counters and the live-token gauge.
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { StoreUnavailableError } from '../model.js';
import { METHODS, type OpenApiDocument, toExpressPath } from '../spec.js';
import type { AuthenticationResult } from './auth.js';

/** How long a count of the stored tokens is reused before a scrape asks the store again. */
export const LIVE_TOKENS_REFRESH_MS = 30_000;

/** The route label of a request whose path is none of the app's routes: raw paths never become labels. */
export const UNMATCHED_ROUTE = 'unmatched';

/** The store-error reason label when a reason is not a short fixed phrase (so no id can become a label). */
const OTHER_REASON = 'other';
const FIXED_PHRASE = /^[a-z][a-z ,'-]{0,63}$/i;

/** Seconds; a cached read takes about a millisecond, a durable create a few. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What a successful answer of an operation means for the token counters. */
const TOKEN_EFFECTS: Record<string, (metrics: Metrics) => void> = {
  createAPIToken: (metrics) => metrics.tokensCreated.inc(),
  // The replacement is a new token; the old one ends (at once, or when its grace period does).
  regenerateAPIToken: (metrics) => {
    metrics.tokensCreated.inc();
    metrics.tokensRevoked.inc({ reason: 'regenerate' });
  },
  deleteAPIToken: (metrics) => metrics.tokensRevoked.inc({ reason: 'delete' }),
};

interface Route {
  /** The path template the route is labelled with: the spec's (`/v2/tokens/{id}`), or the app's own. */
  template: string;
  /** operationId by HTTP method, upper case. */
  operations: Map<string, string>;
}

export interface MetricsOptions {
  /** Counts the tokens in the store; asked at most once per LIVE_TOKENS_REFRESH_MS, when scraped. */
  countTokens?: () => Promise<number>;
  /** Counts the webhook deliveries still pending (the outbox's depth); asked at each scrape. */
  countPendingWebhooks?: () => Promise<number>;
  /** Milliseconds since some epoch; injected so tests can pass the refresh interval without waiting. */
  now?: () => number;
}

/**
 * The metrics of one app, in a registry of its own (not prom-client's global one), so several apps
 * in one process (tests) do not collide. No label ever holds a secret, an id or a token name: routes
 * are the spec's path templates, reasons and results are fixed words.
 */
/** res.locals key: when a streamed answer (Server-Sent Events) opened, in performance.now() time. */
export const STREAM_OPENED_AT = 'streamOpenedAt';

export class Metrics {
  readonly registry = new Registry();
  readonly requestDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly tokensCreated: Counter;
  readonly tokensRevoked: Counter<'reason'>;
  readonly authentications: Counter<'result'>;
  readonly storeErrors: Counter<'reason'>;
  readonly liveTokens: Gauge;
  readonly webhookDeliveries: Counter<'outcome'>;
  readonly #countTokens: (() => Promise<number>) | undefined;
  readonly #now: () => number;
  #countedAt: number | undefined;
  #counting: Promise<void> | undefined;

  constructor({ countTokens, countPendingWebhooks, now = () => performance.now() }: MetricsOptions = {}) {
    this.#countTokens = countTokens;
    this.#now = now;
    const registers = [this.registry];
    // The event-loop delay is sampled every 100 ms, not prom-client's default 10 ms: at 10 ms the
    // default collectors cost reads 7.8% of their throughput, at 100 ms 2.9% (docs/benchmarks.md),
    // and a scrape every few seconds reads percentiles that a 100 ms sample still resolves.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 });
    this.requestDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time from the arrival of a request to the end of its answer, by method, route (the spec path template) and status code.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.tokensCreated = new Counter({
      name: 'api_tokens_created_total',
      help: 'Tokens created through the API: by create, and the replacements made by regenerate.',
      registers,
    });
    this.tokensRevoked = new Counter({
      name: 'api_tokens_revoked_total',
      help: 'Tokens revoked through the API, by reason: delete, or regenerate (the old token ends when its grace period does).',
      labelNames: ['reason'],
      registers,
    });
    this.authentications = new Counter({
      name: 'api_tokens_authentications_total',
      help: 'Bearer authentications under the API base path, by result: success, missing, malformed, unknown (unknown, revoked, expired or not yet started) or forbidden (used from outside the networks it is bound to).',
      labelNames: ['result'],
      registers,
    });
    this.storeErrors = new Counter({
      name: 'api_tokens_store_errors_total',
      help: 'Times the token store was unavailable (answered 503, or background work failed), by reason.',
      labelNames: ['reason'],
      registers,
    });
    const liveTokens = new Gauge({
      name: 'api_tokens_live',
      help: `Tokens in the store, counted at most once per ${LIVE_TOKENS_REFRESH_MS / 1000} s; includes expired tokens the background purge has not removed yet.`,
      registers,
      collect: () => this.#refreshLiveTokens(),
    });
    this.liveTokens = liveTokens;
    // Unknown until counted: no sample rather than a false 0.
    liveTokens.remove({});
    this.webhookDeliveries = new Counter({
      name: 'api_tokens_webhook_deliveries_total',
      help: 'Webhook delivery attempts, by outcome: delivered (2xx), retried (anything else, or no answer within 10 s), failed (still undelivered 24 hours after the event), gone (410 Gone).',
      labelNames: ['outcome'],
      registers,
    });
    const outboxDepth = new Gauge({
      name: 'api_tokens_webhook_outbox_depth',
      help: 'Webhook deliveries pending in the outbox (not yet delivered, failed or gone), counted at each scrape.',
      registers,
      collect: async () => {
        if (countPendingWebhooks === undefined) return;
        try {
          outboxDepth.set(await countPendingWebhooks());
        } catch (err) {
          if (!(err instanceof StoreUnavailableError)) throw err;
          this.observeStoreError(err);
        }
      },
    });
    if (countPendingWebhooks === undefined) outboxDepth.remove({});
  }

  /** Counts an authentication; passed to `authenticate`. */
  readonly observeAuthentication = (result: AuthenticationResult): void => {
    this.authentications.inc({ result });
  };

  /** Counts a StoreUnavailableError by its reason; anything else is not a store error. */
  observeStoreError(err: unknown): void {
    if (!(err instanceof StoreUnavailableError)) return;
    this.storeErrors.inc({ reason: FIXED_PHRASE.test(err.reason) ? err.reason : OTHER_REASON });
  }

  /**
   * Times every request, labelled with the route Express matched for it: one of the spec's paths
   * (under the base path) or of `otherRoutes` (path templates at the root), named by its template;
   * a request no route matched is labelled UNMATCHED_ROUTE, so a path sent never becomes a label.
   * Counts the tokens that successful creates, regenerates and deletes made or ended. Observed when
   * the answer is finished, when Express has long since matched the route.
   */
  observeRequests(spec: OpenApiDocument, otherRoutes: readonly string[]): RequestHandler {
    const basePath = (spec.servers[0]?.url ?? '').replace(/\/$/, '');
    // By the path Express knows the route by (`req.route.path`): relative to the router it is in.
    const routes = new Map<string, Route>();
    const add = (routePath: string, route: Route) => {
      if (routes.has(routePath)) throw new Error(`metrics: two routes are both ${routePath} to Express`);
      routes.set(routePath, route);
    };
    for (const [path, item] of Object.entries(spec.paths)) {
      add(toExpressPath(path), {
        template: basePath + path,
        operations: new Map(
          METHODS.flatMap((method) => {
            const operationId = item[method]?.operationId;
            return operationId === undefined ? [] : [[method.toUpperCase(), operationId] as const];
          }),
        ),
      });
    }
    for (const template of otherRoutes) add(toExpressPath(template), { template, operations: new Map() });
    return (req, res, next) => {
      const started = performance.now();
      let observed = false;
      const observe = () => {
        // A stream (the revocation feed) counts the time it took to open, once it ends: it is not a
        // slow request, and an open one is not a request waiting for its answer.
        const opened: unknown = res.locals[STREAM_OPENED_AT];
        if (observed || (!res.writableFinished && typeof opened !== 'number')) return;
        observed = true;
        const matched: unknown = req.route?.path;
        const route = typeof matched === 'string' ? routes.get(matched) : undefined;
        this.requestDuration.observe(
          { method: req.method, route: route?.template ?? UNMATCHED_ROUTE, status_code: res.statusCode },
          ((typeof opened === 'number' ? opened : performance.now()) - started) / 1000,
        );
        if (route === undefined || res.statusCode < 200 || res.statusCode >= 300) return;
        const operationId = route.operations.get(req.method);
        if (operationId !== undefined) TOKEN_EFFECTS[operationId]?.(this);
      };
      res.once('finish', observe);
      res.once('close', observe);
      next();
    };
  }

  /** Counts the store errors on their way to the error handler, which answers them. */
  observeErrors(): ErrorRequestHandler {
    return (err, _req, _res, next) => {
      this.observeStoreError(err);
      next(err);
    };
  }

  /** GET /metrics: the registry in Prometheus's text format. */
  serve(): RequestHandler {
    return async (_req, res) => {
      const text = await this.registry.metrics();
      res.type(this.registry.contentType).send(text);
    };
  }

  /** Counts the tokens again if the last count is older than the refresh interval; one count at a time. */
  async #refreshLiveTokens(): Promise<void> {
    const countTokens = this.#countTokens;
    if (countTokens === undefined) return;
    const now = this.#now();
    if (this.#countedAt !== undefined && now - this.#countedAt < LIVE_TOKENS_REFRESH_MS) return;
    // .finally runs after the count settles, even one that throws at once, so the next refresh can start.
    this.#counting ??= this.#countLiveTokens(countTokens, now).finally(() => {
      this.#counting = undefined;
    });
    await this.#counting;
  }

  async #countLiveTokens(countTokens: () => Promise<number>, now: number): Promise<void> {
    try {
      this.liveTokens.set(await countTokens());
      this.#countedAt = now;
    } catch (err) {
      // A store that cannot answer now: the last count stays (none at first) and the next scrape
      // tries again. Anything else is a bug, for the error handler to answer 500 and log.
      if (!(err instanceof StoreUnavailableError)) throw err;
      this.observeStoreError(err);
    }
  }
}
