// The ceiling: a bare Express 5 app answering the same request and response shapes as the real server, doing nothing else.
import { randomUUID } from 'node:crypto';
import express from 'express';

const token = {
  id: randomUUID(),
  name: 'bench',
  description: 'benchmark token',
  expiresAt: null,
  datasetCapabilities: { 'logs-prod': { ingest: ['create'], query: ['read'] }, traces: { query: ['read'] } },
  orgCapabilities: { dashboards: ['read'], monitors: ['read', 'update'] },
  viewCapabilities: {},
  samlAuthenticated: false,
};

const app = express();
app.use(express.json({ limit: 65536 }));
app.post('/v2/tokens', (req, res) => {
  res.json({
    ...token,
    ...req.body,
    id: randomUUID(),
    token: 'xaat-ZXhhbXBsZS1vbmx5LW5vdC1hLXJlYWwtc2VjcmV0LTA',
  });
});
app.get('/v2/tokens/:id', (req, res) => {
  res.json({ ...token, id: req.params.id });
});
app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' });
});
app.listen(Number(process.argv[2]), '127.0.0.1');
