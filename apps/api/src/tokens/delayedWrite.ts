// A write that gathers what comes in for a moment, then runs once, one at a time, off the request path.

/**
 * Runs `write` `delayMs` after the first `schedule()` since the last run, or at once on `flush()`;
 * never two at a time. `write` takes what has gathered and must not reject: it reports its own
 * failures. The timer alone does not keep the process alive; a clean stop calls `flush()`.
 */
export class DelayedWrite {
  readonly #delayMs: number;
  readonly #write: () => Promise<void>;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> | undefined;

  constructor(delayMs: number, write: () => Promise<void>) {
    this.#delayMs = delayMs;
    this.#write = write;
  }

  schedule(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, this.#delayMs);
    this.#timer.unref();
  }

  /** Runs the write now, after the one in progress, if any; resolves when it is done. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#writing !== undefined) await this.#writing;
    this.#writing = this.#write().finally(() => {
      this.#writing = undefined;
    });
    await this.#writing;
  }
}
