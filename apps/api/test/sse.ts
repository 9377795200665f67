// A Server-Sent Events reader for tests: opens GET /tokens/revocations with fetch, parses events, and waits for the next one within a bound.

/** One event as the stream sent it; `event` is 'message' when the stream named none. */
export interface SseEvent {
  event: string;
  id: string | undefined;
  data: string;
}

export interface SseStream {
  status: number;
  headers: Headers;
  /** The next event not yet taken (heartbeat comments are not events), within `timeoutMs`. */
  next(timeoutMs?: number): Promise<SseEvent>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

/** Bound for an event that is due: generous, since the machine is shared; a passing case never waits it out. */
export const EVENT_BOUND_MS = 10_000;

export async function openStream(
  url: string,
  { secret, lastEventId }: { secret: string; lastEventId?: string },
): Promise<SseStream> {
  const controller = new AbortController();
  const headers: Record<string, string> = { Authorization: `Bearer ${secret}`, Accept: 'text/event-stream' };
  if (lastEventId !== undefined) headers['Last-Event-ID'] = lastEventId;
  const response = await fetch(url, { headers, signal: controller.signal });
  const events: SseEvent[] = [];
  const waiting: (() => void)[] = [];
  let endedResolve: () => void = () => {};
  const ended = new Promise<void>((resolve) => {
    endedResolve = resolve;
  });
  const wake = () => {
    for (const resolve of waiting.splice(0)) resolve();
  };
  if (response.body !== null && response.status === 200) {
    void (async () => {
      const decoder = new TextDecoder();
      let buffered = '';
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          buffered += decoder.decode(chunk, { stream: true });
          for (let end = buffered.indexOf('\n\n'); end !== -1; end = buffered.indexOf('\n\n')) {
            const block = buffered.slice(0, end);
            buffered = buffered.slice(end + 2);
            const event: SseEvent = { event: 'message', id: undefined, data: '' };
            let isEvent = false;
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) continue;
              const colon = line.indexOf(':');
              const field = colon === -1 ? line : line.slice(0, colon);
              const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
              if (field === 'event') event.event = value;
              else if (field === 'id') event.id = value;
              else if (field === 'data') event.data += value;
              else continue;
              isEvent = true;
            }
            if (isEvent) events.push(event);
          }
          wake();
        }
      } catch {
        // Aborted by close(), or the connection was cut.
      }
      endedResolve();
      wake();
    })();
  } else {
    endedResolve();
  }
  let isEnded = false;
  void ended.then(() => {
    isEnded = true;
  });
  return {
    status: response.status,
    headers: response.headers,
    ended,
    async next(timeoutMs = EVENT_BOUND_MS) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const event = events.shift();
        if (event !== undefined) return event;
        if (isEnded) throw new Error('the stream ended before the event came');
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timeout: no event within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiting.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    close() {
      controller.abort();
    },
  };
}
