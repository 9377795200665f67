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
 * The worker's code. It opens its own connection and runs PASSIVE checkpoints, which never wait
 * for or block the writer: they copy what the log holds into the database file and fsync it, while
 * new commits go on appending to the log.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const report = (err) =>
  parentPort.postMessage({ message: String(err && err.message ? err.message : err), code: err && err.code });
let db;
try {
  const Database = require(workerData.driver);
  db = new Database(workerData.path, { fileMustExist: true });
} catch (err) {
  report(err);
  parentPort.close();
}
const timer =
  db &&
  setInterval(() => {
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch (err) {
      report(err);
    }
  }, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db?.close();
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

  /** Stops after the checkpoint in progress, if any, and closes the worker's connection. */
  async stop(): Promise<void> {
    this.#worker.postMessage('stop');
    await this.#exited;
  }
}
