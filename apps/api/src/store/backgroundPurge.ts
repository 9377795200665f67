// The purge of long-expired tokens and old audit events on a timer, the same for every store.

/**
 * Calls `purge(now)` every `everyMs` (never two at once: a round still going skips the next tick),
 * reporting failures to `onError`; they are retried at the next tick. The timer alone does not keep
 * the process alive. `stop()` ends the timer and waits for a round in progress.
 */
export class BackgroundPurge {
  readonly #timer: NodeJS.Timeout;
  #running: Promise<unknown> | undefined;
  #stopped = false;

  constructor(purge: (now: Date) => Promise<unknown>, everyMs: number, onError: (err: Error) => void) {
    this.#timer = setInterval(() => {
      if (this.#running !== undefined || this.#stopped) return; // the last one is still going
      this.#running = purge(new Date())
        .catch((err: unknown) => onError(err instanceof Error ? err : new Error(String(err))))
        .finally(() => {
          this.#running = undefined;
        });
    }, everyMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#running;
  }
}
