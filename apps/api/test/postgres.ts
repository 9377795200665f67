// PostgreSQL for tests: a database of their own on the server PG_TEST_URL names, dropped afterwards.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

const DEFAULT_PG_TEST_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** The server tests use: PG_TEST_URL, or the machine's local one. */
export const pgTestUrl = process.env.PG_TEST_URL || DEFAULT_PG_TEST_URL;

/** PG_TEST_URL=skip, set explicitly on a machine without PostgreSQL: the PostgreSQL tests do not run. */
export const pgSkipped = process.env.PG_TEST_URL === 'skip';

const HOW_TO_START =
  'start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, ' +
  'point PG_TEST_URL at another, or set PG_TEST_URL=skip on a machine without one';

/** A connection to the server's maintenance database, failing with one line on how to start PostgreSQL. */
async function connectAdmin(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: pgTestUrl, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    throw new Error(
      `PostgreSQL does not answer at ${new URL(pgTestUrl).host} (${(err as Error).message}); ${HOW_TO_START}`,
    );
  }
  return client;
}

export interface TestDatabase {
  /** postgres://… of the new, empty database. */
  url: string;
  name: string;
  /** Drops the database, ending any connection still open to it. */
  drop(): Promise<void>;
}

/** Creates an empty database with a random name, so that test files run in parallel and leave nothing. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `api_tokens_test_${randomBytes(6).toString('hex')}`;
  const admin = await connectAdmin();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(pgTestUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const client = await connectAdmin();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Empties every table of a migrated database, as if new: each test starts from a fresh store. */
export async function resetTestDatabase(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(
      `DO $$ BEGIN
         IF to_regclass('tokens') IS NOT NULL THEN
           TRUNCATE tokens, meta, rate_limit_per_token, rate_limit_failed_auth, audit_events RESTART IDENTITY;
         END IF;
       END $$`,
    );
  } finally {
    await client.end();
  }
}
