// What the reference servers answer (echo, floor, validator stub): the same token and the same fixed
// secret in every answer, in the shapes the real server uses.
import { randomUUID } from 'node:crypto';

export const token = {
  id: randomUUID(),
  name: 'bench',
  description: 'benchmark token',
  expiresAt: null,
  datasetCapabilities: { 'logs-prod': { ingest: ['create'], query: ['read'] }, traces: { query: ['read'] } },
  orgCapabilities: { dashboards: ['read'], monitors: ['read', 'update'] },
  viewCapabilities: {},
  samlAuthenticated: false,
};

export const secret = 'xaat-ZXhhbXBsZS1vbmx5LW5vdC1hLXJlYWwtc2VjcmV0LTA';
