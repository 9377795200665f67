// WAL checkpoints in a worker thread, so that copying the log into the database never holds up a request.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export interface CheckpointerOptions {
  /** How often the worker checkpoints; a checkpoint of an empty log costs next to nothing. */
  intervalMs: number;
  /** Told about a checkpoint that failed (disk full, I/O error); the next one retries. */
  onError: (err: Error) => void;
}

/**
 * The worker's code. Each tick it opens a connection, runs a PASSIVE checkpoint, which never waits
 * for or blocks the writer (it copies what the log holds into the database file and fsyncs it,
 * while new commits go on appending), and closes it again: a second connection kept open makes
 * every read of the main one about 5 µs slower (SQLite's shared-memory locking).
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const timer = setInterval(() => {
  let db;
  try {
    db = new Database(workerData.path, { fileMustExist: true });
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    parentPort.postMessage({ message: String(err && err.message ? err.message : err), code: err && err.code });
  } finally {
    db?.close();
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  parentPort.close();
});
`;

/**
 * Runs the checkpoints of the SQLite database at `path` off the main thread. Without it, SQLite
 * checkpoints inside the commit that crosses its threshold, synchronously: on a store of a million
 * tokens, where each commit dirties pages all over the indexes, that was a fifth of a create's time.
 */
export class Checkpointer {
  readonly #worker: Worker;
  readonly #exited: Promise<void>;

  constructor(path: string, { intervalMs, onError }: CheckpointerOptions) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.#worker = new Worker(WORKER, { eval: true, workerData: { path, driver, intervalMs } });
    this.#worker.on('message', (failure: { message: string; code?: string }) => {
      onError(Object.assign(new Error(`WAL checkpoint failed: ${failure.message}`), { code: failure.code }));
    });
    this.#worker.on('error', onError);
    this.#exited = new Promise((resolve) => this.#worker.once('exit', () => resolve()));
    // A checkpointer alone does not keep the process alive.
    this.#worker.unref();
  }

  /** Stops after the checkpoint in progress, if any. */
  async stop(): Promise<void> {
    // Unreferenced, the worker would not keep the process alive while close() waits for it.
    this.#worker.ref();
    this.#worker.postMessage('stop');
    await this.#exited;
  }
}
