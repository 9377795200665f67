// The process: read the environment, open and migrate the store, bootstrap, listen, and shut down cleanly on signals.
import type { Server } from 'node:http';
import { createApp } from './app.js';
import { ConfigError, readConfig } from './config.js';
import { loadConsole } from './http/console.js';
import { loadApiReference } from './http/docs.js';
import { Metrics } from './http/metrics.js';
import { createMetricsApp } from './http/metricsListener.js';
import { createHttpServer } from './http/server.js';
import { createLogger, logAuditEvents } from './logger.js';
import { presentAuditEvent } from './operations/present.js';
import { loadSpec, readCapabilityCatalog } from './spec.js';
import { type OpenedStore, openStore } from './store/index.js';
import { OutageWatch } from './store/outage.js';
import { StoreInUseError, StoreUnavailableError, type TokenStore } from './store/store.js';
import { TokenService } from './tokens/service.js';
import { listDeliveries } from './webhooks/deliveries.js';
import { ExpiryScanner } from './webhooks/expiry.js';
import { WEBHOOK_EVENT_TYPES, webhookMessages } from './webhooks/messages.js';
import { DeliveryWorker } from './webhooks/worker.js';

/** How long a stop (SIGTERM, SIGINT) waits for requests in flight before it cuts their connections. */
const DRAIN_DEADLINE_MS = 10_000;

/** Start-up failures are one line on stderr and a non-zero exit, never a stack trace. */
function fail(message: string): never {
  process.stderr.write(`api-tokens: cannot start: ${message}\n`);
  process.exit(1);
}

/** The generated admin secret goes to the console once, outside the JSON log stream on stdout. */
function announceBootstrapSecret(secret: string): void {
  const line = '='.repeat(78);
  process.stderr.write(
    `\n${line}\n` +
      '  api-tokens: created the bootstrap admin token. It holds every capability.\n' +
      '  It is shown only now and cannot be read back; store it safely:\n\n' +
      `    ${secret}\n\n` +
      '  Try it:  curl -H "Authorization: Bearer <token>" ...  (see README.md)\n' +
      `${line}\n\n`,
  );
}

/** What the store's environment said (PostgreSQL's message and SQLSTATE, a socket's code), for the outage's log line. */
function causeOf(err: StoreUnavailableError): { message: string; code?: string } | undefined {
  const cause = err.cause;
  if (!(cause instanceof Error)) return undefined;
  const code = (cause as { code?: unknown }).code;
  return typeof code === 'string' ? { message: cause.message, code } : { message: cause.message };
}

/** Why a second server cannot share the database, and the two ways out. */
function inUseMessage(err: StoreInUseError): string {
  return err.wanted === 'sole'
    ? 'DATABASE_URL: another api-tokens process is using this database. With the auth cache on ' +
        '(AUTH_CACHE_SIZE > 0) a server must be its only user, or it would keep accepting tokens the ' +
        'other process revokes; stop that process, or set AUTH_CACHE_SIZE=0 in every process that shares it'
    : 'DATABASE_URL: an api-tokens process with the auth cache on (AUTH_CACHE_SIZE > 0) is using this ' +
        'database and must be its only user; stop it, or restart it with AUTH_CACHE_SIZE=0';
}

async function main(): Promise<void> {
  let config: ReturnType<typeof readConfig>;
  try {
    config = readConfig(process.env);
  } catch (err) {
    fail(err instanceof ConfigError ? err.message : String(err));
  }
  const logger = createLogger(config.logLevel);
  const spec = loadSpec();
  const consoleFiles = config.console ? loadConsole() : undefined;
  if (config.console && consoleFiles === undefined) {
    logger.warn(
      'CONSOLE: the console is not built (apps/console/dist); /console/ answers 404 until `npm run build`',
    );
  }

  let store: TokenStore;
  // Counted only when scraped, by then the store is open.
  const metrics = config.metrics
    ? new Metrics({
        countTokens: () => store.count(),
        countPendingWebhooks:
          config.webhooks === undefined ? undefined : () => store.countPendingDeliveries(),
      })
    : undefined;
  let opened: OpenedStore;
  // Every failed request, lost connection and failed background write of an outage goes here; the
  // log says once that it began, with its cause, and once that it ended.
  const outage = new OutageWatch({
    ping: () => store.ping(),
    onStart: (err) =>
      logger.warn(
        { reason: err.reason, cause: causeOf(err) },
        `token store unavailable (${err.reason}): answering 503 until it is back`,
      ),
    onEnd: ({ durationMs, failures }) =>
      logger.info(
        { durationMs, failures },
        `token store available again after ${(durationMs / 1000).toFixed(1)} s`,
      ),
  });
  try {
    opened = await openStore(config.databaseUrl, {
      onBackgroundError: (err) => {
        metrics?.observeStoreError(err);
        if (err instanceof StoreUnavailableError) outage.report(err);
        else logger.warn({ err }, 'token store: background work (checkpoint or purge) failed, will retry');
      },
      expiredTokenRetentionMs: config.expiredTokenRetentionMs,
      auditRetentionMs: config.auditRetentionMs,
      // The auth cache is exact only if no other process can revoke a token behind its back.
      cache: config.authCacheSize > 0,
      poolSize: config.databasePoolSize,
      connectTimeoutMs: config.databaseConnectTimeoutMs,
      // Every token event's webhooks, one per URL, written with the event (webhooks/messages.ts).
      outbox:
        config.webhooks === undefined ? undefined : webhookMessages(config.webhooks.urls, presentAuditEvent),
    });
  } catch (err) {
    if (err instanceof StoreInUseError) fail(inUseMessage(err));
    const message = err instanceof Error ? err.message : String(err);
    fail(message.startsWith('DATABASE_URL') ? message : `DATABASE_URL: ${message}`);
  }
  store = opened.store;
  // On a database that other replicas serve from, a revocation on any of them must hold on the
  // very next request here: the cache is on only with AUTH_CACHE_TTL, evicted by the revocation
  // feed, and emptied and bypassed whenever this replica is not hearing it.
  const cacheNeedsFeed = !opened.cacheExact;
  const authCacheSize = !cacheNeedsFeed || config.authCacheTtlMs > 0 ? config.authCacheSize : 0;
  if (cacheNeedsFeed && authCacheSize === 0 && config.authCacheSize > 0)
    logger.info(
      'auth cache off: replicas share the database, so each request reads the token from it (set AUTH_CACHE_TTL to cache, evicted by the revocation feed)',
    );
  const logAuditEvent = logAuditEvents(logger, presentAuditEvent);
  const webhooks = config.webhooks;
  const reportWebhookError = (err: Error) => {
    metrics?.observeStoreError(err);
    if (err instanceof StoreUnavailableError) outage.report(err);
    else logger.error({ err }, 'webhooks: reading or writing the outbox failed, will retry');
  };
  const deliveryWorker =
    webhooks === undefined
      ? undefined
      : new DeliveryWorker({
          store,
          secret: webhooks.secret,
          firstRetryMs: webhooks.firstRetryMs,
          onAttempt: (outcome, delivery) => {
            metrics?.webhookDeliveries.inc({ outcome });
            if (outcome !== 'delivered')
              logger.warn(
                { webhookId: delivery.webhookId, type: delivery.type, attempts: delivery.attempts, outcome },
                `webhook delivery ${outcome}`,
              );
          },
          onError: reportWebhookError,
        });
  const expiryScanner =
    webhooks === undefined
      ? undefined
      : new ExpiryScanner({
          store,
          onEvents: (events) => {
            for (const event of events) logAuditEvent(event);
            deliveryWorker?.wake();
          },
          onError: reportWebhookError,
        });
  const tokens = new TokenService({
    store,
    catalog: readCapabilityCatalog(spec),
    clock: () => new Date(),
    authCacheSize,
    authCacheTtlMs: cacheNeedsFeed ? config.authCacheTtlMs : 0,
    cacheNeedsFeed,
    onFeedChange: ({ listening, err }) => {
      if (listening) logger.info('revocation feed: listening');
      else
        logger.warn(
          { err },
          'revocation feed lost: auth cache emptied and bypassed, feed readers ended, until it is heard again',
        );
    },
    onBackgroundError: (err) => {
      if (err instanceof StoreUnavailableError) outage.report(err);
      else logger.warn({ err }, 'token store: writing last-use times or refusal counts failed');
    },
    // Each audit event once in the log too, for shipping to a SIEM without polling the API.
    // And, once committed with its webhooks, the delivery worker looks at the outbox now.
    onAuditEvent: (event) => {
      logAuditEvent(event);
      if (WEBHOOK_EVENT_TYPES.includes(event.type)) deliveryWorker?.wake();
    },
    maxLifetimeMs: config.maxTokenLifetimeMs,
  });
  const app = createApp({
    tokens,
    spec,
    logger,
    validateResponses: config.validateResponses,
    rateLimits: config.rateLimits,
    corsOrigins: config.corsOrigins,
    trustProxy: config.trustProxy,
    checkReady: () => store.ping(),
    rateLimitCounters: opened.rateLimitCounters,
    metrics,
    apiReference: config.docs ? loadApiReference() : undefined,
    onStoreUnavailable: (err) => outage.report(err),
    consoleFiles,
    listDeliveries: listDeliveries(store),
  });

  /** Listens, or stops start-up with one line naming the variable whose port is taken. */
  const listen = async (server: Server, port: number, host: string, variable: string) => {
    server.listen(port, host);
    await new Promise<void>((resolve) => {
      const refuse = (err: NodeJS.ErrnoException) =>
        fail(err.code === 'EADDRINUSE' ? `${variable}: ${host}:${port} is already in use` : err.message);
      server.once('error', refuse);
      server.once('listening', () => {
        // From now on an error is no start-up failure: it must not exit without draining.
        server.off('error', refuse);
        resolve();
      });
    });
    const address = server.address();
    return typeof address === 'object' && address !== null ? address.port : port;
  };

  // Bind first: a server that cannot listen must not create (and show) a bootstrap token.
  const server = createHttpServer(app);
  const port = await listen(server, config.port, config.host, 'PORT');
  // Metrics on a listener of their own, so the API port never shows them (loopback by default).
  const metricsServer = metrics === undefined ? undefined : createHttpServer(createMetricsApp(metrics));
  if (metricsServer !== undefined) {
    const metricsPort = await listen(metricsServer, config.metricsPort, config.metricsHost, 'METRICS_PORT');
    metricsServer.on('error', (err) => logger.error({ err }, 'metrics server: failed'));
    logger.info(
      { metricsHost: config.metricsHost, metricsPort },
      `metrics on http://${config.metricsHost}:${metricsPort}/metrics`,
    );
  }

  let stopping = false;
  const stop = (reason: string, exitCode: number) => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, 'stopping: no new connections, finishing requests in flight');
    metricsServer?.close();
    metricsServer?.closeAllConnections();
    // Streams of the revocation feed never end by themselves: ended now (their clients reconnect elsewhere).
    tokens.stopFeed();
    // close() stops accepting and waits for in-flight requests; idle keep-alive sockets are closed now.
    server.close(async () => {
      // Last-use times and refusal counts still queued are written before the store closes.
      await tokens.flush();
      await expiryScanner?.stop();
      await deliveryWorker?.stop();
      outage.close();
      await store.close();
      logger.info('stopped');
      process.exit(exitCode);
    });
    server.closeIdleConnections();
    // A client that never finishes its request (or never reads its answer) must not hold the stop
    // open until the request timeout: past the deadline its connection is cut.
    setTimeout(() => {
      logger.warn(
        `stopping: requests still in flight after ${DRAIN_DEADLINE_MS / 1000} s; closing their connections`,
      );
      server.closeAllConnections();
    }, DRAIN_DEADLINE_MS).unref();
  };
  server.on('error', (err: NodeJS.ErrnoException) => {
    // Out of file descriptors on accept passes as connections close; the server keeps serving.
    if (err.code === 'EMFILE' || err.code === 'ENFILE') {
      logger.error({ err }, 'server: cannot accept a connection (out of file descriptors), still serving');
      return;
    }
    logger.error({ err }, 'server: failed, stopping');
    stop('server error', 1);
  });

  const bootstrapped = await tokens.bootstrap(config.bootstrapToken);
  if (bootstrapped?.generatedSecret !== undefined) announceBootstrapSecret(bootstrapped.generatedSecret);
  else if (bootstrapped !== undefined) logger.info('created the bootstrap admin token from BOOTSTRAP_TOKEN');
  else if (config.bootstrapToken !== undefined)
    logger.info('the store already has tokens; BOOTSTRAP_TOKEN is ignored');
  deliveryWorker?.start();
  expiryScanner?.start();
  if (webhooks !== undefined) logger.info({ urls: webhooks.urls.length }, 'webhooks on');
  process.on('SIGTERM', () => stop('SIGTERM', 0));
  process.on('SIGINT', () => stop('SIGINT', 0));

  logger.info({ host: config.host, port }, `listening on http://${config.host}:${port}`);
}

main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
