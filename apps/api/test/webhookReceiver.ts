// A real local webhook receiver (node:http) for tests: records every request, answers as the case says, and lets a case wait for what it expects.
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A webhook request as received, and what the receiver answered. */
export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  /** The status answered; undefined while the receiver holds the request open. */
  status: number | undefined;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Decides each answer: a status, or 'hold' to never answer (a receiver that hangs). Default 204. */
  answer: (request: Received) => number | 'hold';
  /** Resolves once `done` holds over what was received; rejects after `boundMs`. */
  waitFor(done: (received: readonly Received[]) => boolean, boundMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** The webhook-id headers of the requests answered 2xx. */
export const deliveredIds = (received: readonly Received[]) =>
  received.filter((request) => (request.status ?? 0) >= 200 && (request.status ?? 0) < 300).map(idOf);

export const idOf = (request: Received) => String(request.headers['webhook-id']);

/** A request's body as JSON. */
// biome-ignore lint/suspicious/noExplicitAny: webhook bodies, checked field by field
export const bodyOf = (request: Received): any => JSON.parse(request.body);

export async function startReceiver(path = '/hooks'): Promise<Receiver> {
  const waiters = new Set<() => void>();
  const receiver: Receiver = {
    url: '',
    received: [],
    answer: () => 204,
    async waitFor(done, boundMs = 30_000) {
      if (done(receiver.received)) return;
      await new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!done(receiver.received)) return;
          clearTimeout(deadline);
          waiters.delete(check);
          resolve();
        };
        const deadline = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(`receiver: not there within ${boundMs / 1000} s; received ${receiver.received.length}`),
          );
        }, boundMs);
        waiters.add(check);
      });
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      const request: Received = { headers: req.headers, body, status: undefined };
      const answer = req.url === path ? receiver.answer(request) : 404;
      if (answer !== 'hold') {
        request.status = answer;
        res.writeHead(answer).end();
      }
      receiver.received.push(request);
      for (const waiter of [...waiters]) waiter();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  return receiver;
}
