// The token service's revocation feed (GET /tokens/revocations), followed for as long as the guard lives: what the verdict cache trusts.
import { createParser } from 'eventsource-parser';

/** What following the feed tells the guard. */
export interface RevocationEvents {
  /** The stream is open: from now on every revocation is heard, so cached verdicts may be trusted. */
  opened(): void;
  /** These secret digests (base64url SHA-256) are revoked: drop their verdicts. */
  revoked(digests: readonly string[]): void;
  /** Revocations may have been missed (`reset`, or the stream was lost): drop every verdict, trust none until `opened`. */
  lost(): void;
}

/** The server sends a heartbeat every 15 s: three missed mean the stream is dead, whatever TCP thinks. */
const SILENCE_LIMIT_MS = 45_000;
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;

/**
 * Follows `${baseUrl}/tokens/revocations` with fetch, reconnecting with backoff and resuming with
 * Last-Event-ID. The stream is parsed by eventsource-parser; the connection is this module's own,
 * rather than an EventSource's, so that the guard knows exactly when it is open (the cache is
 * trusted only then), can send its service token, and can tell a silent dead stream from a quiet one.
 */
export class RevocationFollower {
  readonly #url: string;
  readonly #serviceToken: string;
  readonly #events: RevocationEvents;
  #lastEventId: string | undefined;
  #abort: AbortController | undefined;
  #closed = false;
  #retryMs = FIRST_RETRY_MS;
  #retryTimer: NodeJS.Timeout | undefined;

  constructor(baseUrl: string, serviceToken: string, events: RevocationEvents) {
    this.#url = `${baseUrl.replace(/\/$/, '')}/tokens/revocations`;
    this.#serviceToken = serviceToken;
    this.#events = events;
    void this.#follow();
  }

  /** Stops following; the guard then verifies every request. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#abort?.abort();
  }

  async #follow(): Promise<void> {
    const abort = new AbortController();
    this.#abort = abort;
    let silence: NodeJS.Timeout | undefined;
    const heard = () => {
      clearTimeout(silence);
      silence = setTimeout(() => abort.abort(), SILENCE_LIMIT_MS);
      silence.unref?.();
    };
    let opened = false;
    try {
      const headers: Record<string, string> = {
        Authorization: `Bearer ${this.#serviceToken}`,
        Accept: 'text/event-stream',
      };
      if (this.#lastEventId !== undefined) headers['Last-Event-ID'] = this.#lastEventId;
      const response = await fetch(this.#url, { headers, signal: abort.signal });
      if (response.status !== 200 || response.body === null) {
        await response.body?.cancel();
        return;
      }
      opened = true;
      this.#retryMs = FIRST_RETRY_MS;
      heard();
      this.#events.opened();
      const parser = createParser({
        onEvent: (event) => {
          // An empty id (after a reset) means: start afresh next time.
          if (event.id !== undefined) this.#lastEventId = event.id === '' ? undefined : event.id;
          if (event.event === 'reset') {
            this.#events.lost();
            // Dropped, and still following: what is cached from now on is heard of again.
            this.#events.opened();
            return;
          }
          if (event.event !== undefined && event.event !== 'message') return;
          try {
            const { digests } = JSON.parse(event.data) as { digests?: unknown };
            if (Array.isArray(digests)) this.#events.revoked(digests.map(String));
          } catch {
            // Not a revocation this client understands: nothing it can trust any more.
            abort.abort();
          }
        },
      });
      const decoder = new TextDecoder();
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        heard();
        parser.feed(decoder.decode(chunk, { stream: true }));
      }
    } catch {
      // Unreachable, cut, aborted (closed, or silent too long): lost, as below.
    } finally {
      clearTimeout(silence);
      if (opened) this.#events.lost();
      if (!this.#closed) {
        this.#retryTimer = setTimeout(() => void this.#follow(), opened ? FIRST_RETRY_MS : this.#retryMs);
        this.#retryTimer.unref?.();
        if (!opened) this.#retryMs = Math.min(this.#retryMs * 2, MAX_RETRY_MS);
      }
    }
  }
}
