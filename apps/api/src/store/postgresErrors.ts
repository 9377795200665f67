// Which PostgreSQL failures mean "the database is away for now" (503, retry) rather than a bug or bad data (500).
import { StoreUnavailableError } from './store.js';

/** Socket-level failures: the database cannot be reached right now. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * pg's own errors for a connection that broke or never came, which carry no code: "Connection
 * terminated unexpectedly", "Connection terminated due to connection timeout", the pool's
 * "timeout exceeded when trying to connect", a client used after its connection failed.
 */
const CONNECTION_MESSAGES =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable|Connection ended|after calling end on the pool/i;

/**
 * SQLSTATE 55000 (object not in prerequisite state) is mostly a bug of the statement's, but the
 * server also sends it, at connect, for a database under `ALTER DATABASE … ALLOW_CONNECTIONS false`
 * (`database "…" is not currently accepting connections`), as during maintenance.
 */
const NOT_ACCEPTING_CONNECTIONS = /is not currently accepting connections/;

/** Reasons by exact SQLSTATE, in words fit for a client. */
const REASON_OF_CODE: Readonly<Record<string, string>> = {
  '57P01': 'the database is restarting', // admin_shutdown: a fast or immediate shutdown, or pg_terminate_backend
  '57P02': 'the database is restarting', // crash_shutdown: another server process crashed
  '57P03': 'the database is restarting', // cannot_connect_now: starting up, in recovery, or shutting down
  '57P04': 'the database does not exist', // database_dropped
  '3D000': 'the database does not exist', // invalid_catalog_name: dropped, or not created yet
  '53300': 'the database has no free connections', // too_many_connections
  '53100': 'the database disk is full',
  '25006': 'the database is read-only', // a standby, or default_transaction_read_only
  '40001': 'the database is busy', // serialization failure, past its retries
  '40P01': 'the database is busy', // deadlock, past its retries
  '57014': 'the database did not answer in time', // statement_timeout
};

/**
 * Why `err` means "not now" rather than "never" (the database or the way to it, not the request),
 * in words fit for a client; undefined for anything else (a programming or data error), which is a bug.
 */
export function unavailableReason(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : '';
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code)) return 'cannot reach the database';
    const reason = REASON_OF_CODE[code];
    if (reason !== undefined) return reason;
    if (code.startsWith('08')) return 'the connection to the database failed'; // connection exception
    if (code.startsWith('53')) return 'the database is out of resources'; // out of memory, too many files…
    if (code === '55000' && NOT_ACCEPTING_CONNECTIONS.test(message))
      return 'the database is not accepting connections';
  }
  if (CONNECTION_MESSAGES.test(message)) return 'cannot reach the database';
  return undefined;
}

/** `err` as thrown to callers: StoreUnavailableError for the environment's failures, anything else unchanged. */
export function toStoreError(err: unknown): unknown {
  if (err instanceof StoreUnavailableError) return err;
  const reason = unavailableReason(err);
  return reason === undefined ? err : new StoreUnavailableError(reason, { cause: err });
}

/**
 * Whether the server answered that the database in the URL does not exist: at start-up that is a
 * mistake in DATABASE_URL to report at once, not an outage to wait out.
 */
export const isMissingDatabase = (err: unknown): boolean =>
  (err as { code?: unknown } | null)?.code === '3D000';
