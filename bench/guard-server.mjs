// A receiving service for bench/propagation.mjs: one route behind @api-tokens/express with
// `revocations: true` (the feed of GET /v2/tokens/revocations) and a long verdict cache, so that
// only the feed can make it refuse a revoked token in time. Arguments: the port, the token service's
// base URL (with its /v2), this service's own token (a bench token in a throwaway database), and
// optionally the guard package's built entry point.
import express from 'express';

// The guard's build: this repository's, or the one given fourth (another checkout's dist/index.js).
const [port, baseUrl, serviceToken, guardPackage = '../packages/express/dist/index.js'] =
  process.argv.slice(2);
const { requireToken } = await import(new URL(guardPackage, import.meta.url).href);

const app = express();
app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' });
});
app.get(
  '/ingest',
  requireToken({
    baseUrl,
    serviceToken,
    require: { datasetCapabilities: { 'logs-prod': { ingest: ['create'] } } },
    // Ten minutes: a revoked token would pass for that long if the feed did not evict it.
    cacheTtlMs: 600_000,
    revocations: true,
  }),
  (req, res) => {
    res.json({ acceptedFor: req.apiToken.id });
  },
);
app.listen(Number(port), '127.0.0.1');
