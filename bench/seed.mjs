// Seeds a database with N tokens directly through the store (not over HTTP), plus the bootstrap admin.
import { randomUUID } from 'node:crypto';
import { loadSpec, readCapabilityCatalog } from '../apps/api/dist/spec.js';
import { openStore } from '../apps/api/dist/store/index.js';
import { digestSecret, generateSecret } from '../apps/api/dist/tokens/secrets.js';
import { TokenService } from '../apps/api/dist/tokens/service.js';

// A SQLite file's path, or a postgres:// URL.
const [path, count, admin] = process.argv.slice(2);
const store = await openStore(/^postgres(ql)?:/.test(path) ? path : `sqlite:${path}`);
const tokens = new TokenService({
  store,
  catalog: readCapabilityCatalog(loadSpec()),
  clock: () => new Date(),
});
await tokens.bootstrap(admin);
const total = Number(count);
const chunk = 10_000;
const started = Date.now();
for (let done = 0; done < total; done += chunk) {
  const now = Date.now();
  // One event-loop turn per chunk: the store's group commit writes each chunk in one transaction.
  await Promise.all(
    Array.from({ length: Math.min(chunk, total - done) }, (_, i) =>
      store.insert(
        {
          id: randomUUID(),
          name: `seeded-${done + i}`,
          description: '',
          expiresAt: null,
          createdAt: new Date(now),
          datasetCapabilities: { [`dataset-${(done + i) % 5000}`]: { ingest: ['create'], query: ['read'] } },
          orgCapabilities: { dashboards: ['read'] },
          viewCapabilities: {},
          allowedCidrs: [],
          notBefore: null,
        },
        digestSecret(generateSecret()),
      ),
    ),
  );
}
await store.close();
console.log(`seeded ${total} tokens in ${((Date.now() - started) / 1000).toFixed(1)} s`);
