// PostgreSQL stopped and started under load, on a cluster of the test's own, with two real replicas serving: 200 or 503, nothing acknowledged lost.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { pgSkipped } from './postgres.js';
import { type PrivatePostgres, type ShutdownMode, startPrivatePostgres } from './privatePostgres.js';
import {
  type Answer,
  callServer,
  PROCESS_EVENT_BOUND_MS,
  PROCESS_TEST_TIMEOUT_MS,
  type ServerProcess,
  startServer,
} from './process.js';

const call = callServer;

const SECRET = /xaat-[0-9A-Za-z]{49}|xaat-[A-Za-z0-9_-]{43}/;

let cluster: PrivatePostgres;
beforeAll(async () => {
  cluster = await startPrivatePostgres();
}, PROCESS_TEST_TIMEOUT_MS);
const running: ServerProcess[] = [];
afterEach(async () => {
  // A case that failed half-way may leave the cluster stopped.
  if (cluster !== undefined && cluster.postmasterPid() === undefined) await cluster.start();
});
afterAll(async () => {
  await Promise.all(running.splice(0).map((server) => server.stop('SIGKILL')));
  await cluster?.destroy();
}, PROCESS_TEST_TIMEOUT_MS);

let databases = 0;

async function startReplicas(count: number) {
  const database = `restart_${++databases}`;
  await cluster.query(`CREATE DATABASE ${database}`);
  const replicas = await Promise.all(
    Array.from({ length: count }, () =>
      startServer({
        DATABASE_URL: cluster.url(database),
        DATABASE_POOL_SIZE: '4',
        RATE_LIMIT_FAILED_AUTH_PER_MIN: '0',
        RATE_LIMIT_PER_TOKEN_PER_SEC: '0',
      }),
    ),
  );
  running.push(...replicas);
  const shown = () => replicas.map((replica) => SECRET.exec(replica.stderr())?.[0]).filter(Boolean);
  await vi.waitFor(
    () => {
      if (shown().length === 0) throw new Error('timeout: no replica printed the bootstrap secret');
    },
    { timeout: PROCESS_EVENT_BOUND_MS, interval: 20 },
  );
  return { replicas, admin: shown()[0] as string };
}

/** Both replicas' /readyz answer `status`. */
async function readyzOfAll(replicas: ServerProcess[], status: number) {
  await vi.waitFor(
    async () => {
      const answers = await Promise.all(replicas.map((replica) => call(replica, 'GET', '/readyz')));
      if (!answers.every((answer) => answer.status === status))
        throw new Error(`timeout: /readyz did not answer ${status} on every replica`);
      for (const answer of answers)
        if (status === 503) expect(answer.headers.get('retry-after')).toMatch(/^\d+$/);
    },
    { timeout: PROCESS_EVENT_BOUND_MS, interval: 50 },
  );
}

/** The replica's log lines since `from` (a length of its stdout). */
const logEntries = (replica: ServerProcess, from: number) =>
  replica
    .stdout()
    .slice(from)
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));

/**
 * Creates, reads and deletes on both replicas, round-robin, until stopped; records what was
 * acknowledged and every status seen.
 */
function startLoad(replicas: ServerProcess[], admin: string) {
  const created = new Map<string, string>(); // id → secret, answered 200 and not deleted
  const deleted = new Map<string, string>(); // id → secret, delete answered 204
  const statuses = new Map<string, number>();
  const unexplained: string[] = [];
  const uncertain = new Set<string>(); // a delete answered 503: gone or not
  const deletable: string[] = [];
  let turn = 0;
  let running = true;
  const see = (what: string, answer: Answer) => {
    statuses.set(`${what} ${answer.status}`, (statuses.get(`${what} ${answer.status}`) ?? 0) + 1);
    if (answer.status === 503 && !/^\d+$/.test(answer.headers.get('retry-after') ?? ''))
      unexplained.push(`${what}: 503 without Retry-After`);
  };
  const worker = async () => {
    while (running) {
      const on = replicas[turn++ % replicas.length] as ServerProcess;
      const made = await call(on, 'POST', '/v2/tokens', admin, {
        name: 'under restart',
        orgCapabilities: { apiTokens: ['read'] },
      });
      see('create', made);
      if (made.status === 200) {
        created.set(made.body.id, made.body.token);
        deletable.push(made.body.id);
      }
      // Every third turn an acknowledged token is deleted again, on the other replica; each by
      // one worker at a time.
      const victim = turn % 3 === 0 ? deletable.shift() : undefined;
      if (victim !== undefined) {
        const other = replicas[turn % replicas.length] as ServerProcess;
        const gone = await call(other, 'DELETE', `/v2/tokens/${victim}`, admin);
        const retried = uncertain.has(victim);
        see(retried && gone.status === 404 ? 'delete retried 404' : 'delete', gone);
        // A delete answered 503 may have committed unseen (the connection broke during COMMIT):
        // retried, it answers 404, as the README warns.
        if (gone.status === 503) {
          uncertain.add(victim);
          deletable.push(victim);
        }
        if (gone.status === 204 || (retried && gone.status === 404)) {
          deleted.set(victim, created.get(victim) as string);
          created.delete(victim);
          uncertain.delete(victim);
        }
      }
    }
  };
  const workers = Array.from({ length: 6 }, worker);
  return {
    created,
    deleted,
    uncertain,
    statuses,
    unexplained,
    acknowledged: () => created.size + deleted.size,
    async stop() {
      running = false;
      await Promise.all(workers);
    },
  };
}

async function restartUnderLoad(
  { replicas, admin }: { replicas: ServerProcess[]; admin: string },
  mode: ShutdownMode,
) {
  await readyzOfAll(replicas, 200);
  const logFrom = replicas.map((replica) => replica.stdout().length);
  const load = startLoad(replicas, admin);
  try {
    await expect.poll(load.acknowledged, { timeout: PROCESS_EVENT_BOUND_MS }).toBeGreaterThan(20);
    await cluster.stop(mode);
    await readyzOfAll(replicas, 503);
    const seen503 = () => (load.statuses.get('create 503') ?? 0) + (load.statuses.get('delete 503') ?? 0);
    await expect.poll(seen503, { timeout: PROCESS_EVENT_BOUND_MS }).toBeGreaterThan(0);
    await cluster.start();
    await readyzOfAll(replicas, 200);
    // Recovered without a restart of the API: acknowledgements flow again.
    const before = load.acknowledged();
    await expect.poll(load.acknowledged, { timeout: PROCESS_EVENT_BOUND_MS }).toBeGreaterThan(before + 20);
  } finally {
    await load.stop();
  }
  const kinds = [...load.statuses.keys()];
  expect(
    kinds.filter((kind) => !/^(create (200|503)|delete (204|503)|delete retried 404)$/.test(kind)),
  ).toEqual([]);
  expect(load.unexplained).toEqual([]);
  for (const replica of replicas) expect(replica.child.exitCode).toBeNull();
  // Nothing acknowledged lost: every created token authenticates, on either replica; every
  // deleted one is refused.
  let index = 0;
  for (const [id, secret] of load.created) {
    if (load.uncertain.has(id)) continue;
    const seen = await call(replicas[index++ % 2] as ServerProcess, 'GET', `/v2/tokens/${id}`, secret);
    expect(seen.status, id).toBe(200);
  }
  for (const [id, secret] of load.deleted) {
    const seen = await call(replicas[index++ % 2] as ServerProcess, 'GET', `/v2/tokens/${id}`, secret);
    expect(seen.status, id).toBe(401);
  }

  // What the operator reads: the outage once on each replica, begun with its cause and ended; each
  // 503 a warning; no error and no "background work failed". The end is told once the store has
  // answered a probe after a quiet interval, which may come after the load has already recovered.
  const endedOn = (index: number) =>
    logEntries(replicas[index] as ServerProcess, logFrom[index] as number).filter((entry) =>
      /^token store available again after/.test(entry.msg),
    ).length;
  for (const index of replicas.keys()) {
    await expect.poll(() => endedOn(index), { timeout: PROCESS_EVENT_BOUND_MS }).toBeGreaterThan(0);
  }
  for (const [index, replica] of replicas.entries()) {
    const entries = logEntries(replica, logFrom[index] as number);
    const began = entries.filter((entry) => /^token store unavailable \(/.test(entry.msg));
    const ended = entries.filter((entry) => /^token store available again after/.test(entry.msg));
    expect(began, replica.stdout().slice(logFrom[index])).toHaveLength(1);
    expect(began[0]).toMatchObject({
      level: 40,
      reason: expect.any(String),
      cause: { message: expect.any(String) },
    });
    expect(ended).toHaveLength(1);
    expect(ended[0].time).toBeGreaterThan(began[0].time);
    expect(entries.filter((entry) => entry.level >= 50)).toEqual([]);
    expect(entries.filter((entry) => /background work/.test(entry.msg))).toEqual([]);
    const unavailable = entries.filter(
      (entry) => entry.msg === 'request completed' && entry.res.statusCode === 503,
    );
    expect(unavailable.length).toBeGreaterThan(0);
    for (const entry of unavailable)
      expect(entry).toMatchObject({ level: 40, storeUnavailable: expect.any(String) });
  }
}

describe.skipIf(pgSkipped)('PostgreSQL restarted under load, two replicas serving', () => {
  // The same replicas through both cases: each outage is recovered from without restarting them.
  let serving: { replicas: ServerProcess[]; admin: string };
  beforeAll(async () => {
    serving = await startReplicas(2);
  }, PROCESS_TEST_TIMEOUT_MS);

  it(
    'a fast shutdown and start (pg_ctl stop -m fast)',
    () => restartUnderLoad(serving, 'fast'),
    3 * PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'an immediate shutdown, a crash (pg_ctl stop -m immediate), and start with recovery',
    () => restartUnderLoad(serving, 'immediate'),
    3 * PROCESS_TEST_TIMEOUT_MS,
  );
});
