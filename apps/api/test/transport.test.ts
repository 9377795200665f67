// The HTTP layer of the real process: header limits, slow clients and unparsable requests, each answered as JSON.
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEADERS_TIMEOUT_MS, MAX_HEADER_BYTES, REQUEST_TIMEOUT_MS } from '../src/http/server.js';
import { PROCESS_TEST_TIMEOUT_MS, type ServerProcess, startServer } from './process.js';

const ADMIN = 'xaat-transportAdminSecret012345678901234567890120Ec4Dw';

let dir: string;
let server: ServerProcess;
let port: number;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'api-tokens-transport-'));
  server = await startServer({ DATABASE_URL: `sqlite:${join(dir, 'tokens.db')}`, BOOTSTRAP_TOKEN: ADMIN });
  port = Number(new URL(server.baseUrl).port);
  // Starting a process waits on its own bound (process.ts), longer than vitest's default hook timeout.
}, PROCESS_TEST_TIMEOUT_MS);
afterAll(async () => {
  await server.stop('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Writes `request` on a fresh connection and resolves with everything the server sent before closing it. */
async function exchange(request: string, socket: Socket = connect(port, '127.0.0.1')): Promise<string> {
  let raw = '';
  socket.on('data', (chunk) => {
    raw += chunk;
  });
  if (!socket.readyState.startsWith('open')) await once(socket, 'connect');
  socket.write(request);
  await once(socket, 'close');
  return raw;
}

const jsonBody = (raw: string) => JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));

describe('requests the HTTP parser refuses', () => {
  it('headers over the limit: 431 as JSON', async () => {
    const raw = await exchange(
      `GET /v2/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'a'.repeat(MAX_HEADER_BYTES)}\r\n\r\n`,
    );
    expect(raw).toMatch(/^HTTP\/1\.1 431 /);
    expect(raw).toMatch(/content-type: application\/json/i);
    expect(jsonBody(raw)).toEqual({ code: 431, message: expect.stringContaining('headers') });
  });

  it('an unknown method: 400 as JSON', async () => {
    const raw = await exchange('FROBNICATE /v2/tokens HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(jsonBody(raw)).toEqual({ code: 400, message: expect.stringContaining('method') });
  });

  it('garbage instead of HTTP: 400 as JSON', async () => {
    const raw = await exchange('\u0000\u0001\u0002 not http at all\r\n\r\n');
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(jsonBody(raw)).toEqual({ code: 400, message: expect.any(String) });
  });
});

/**
 * Resolves with everything the server sent on `socket` once the connection is closed; past `boundMs`
 * the socket is destroyed and the wait fails as a timeout.
 */
function closedWithin(socket: Socket, boundMs: number, what: string): Promise<string> {
  let raw = '';
  socket.on('data', (chunk) => {
    raw += chunk;
  });
  // The server may reset a connection that keeps writing after it was closed: that is a close too.
  socket.on('error', () => {});
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => {
      socket.destroy();
      reject(new Error(`timeout: the server did not close ${what} within ${boundMs / 1000} s`));
    }, boundMs);
    socket.once('close', () => {
      clearTimeout(deadline);
      resolve(raw);
    });
  });
}

/** Writes `next()` every second until the socket closes: the client is never idle, yet never done. */
function dribble(socket: Socket, next: (i: number) => string): void {
  let i = 0;
  const timer = setInterval(() => socket.writable && socket.write(next(i++)), 1_000);
  socket.once('close', () => clearInterval(timer));
}

// Each case waits out a server deadline: run them side by side.
describe.concurrent('slow clients are cut off', () => {
  // A client that ignores the server's FIN (allowHalfOpen) is what a slowloris attacker runs.
  it.for([
    ['a client that closes when the server does', false],
    ['a client that ignores the server closing its side', true],
  ] as const)(
    'headers sent one line a second: 408 naming the headers deadline, and closed, for %s',
    { timeout: HEADERS_TIMEOUT_MS + 20_000 },
    async ([, allowHalfOpen], { expect }) => {
      const socket = connect({ port, host: '127.0.0.1', allowHalfOpen });
      await once(socket, 'connect');
      socket.write('GET /v2/tokens HTTP/1.1\r\nHost: x\r\n');
      dribble(socket, (i) => `X-Slow-${i}: still coming\r\n`);
      const raw = await closedWithin(socket, HEADERS_TIMEOUT_MS + 10_000, 'a connection trickling headers');
      expect(raw).toMatch(/^HTTP\/1\.1 408 /);
      expect(raw).toMatch(/connection: close/i);
      expect(jsonBody(raw)).toEqual({
        code: 408,
        message: `headers: not received within ${HEADERS_TIMEOUT_MS / 1000} s`,
      });
    },
  );

  it(
    'a body sent a byte every second: 408 naming the request deadline, and closed, even half-open',
    async ({ expect }) => {
      const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
      await once(socket, 'connect');
      socket.write(
        `POST /v2/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"na',
      );
      dribble(socket, () => ' ');
      const raw = await closedWithin(socket, REQUEST_TIMEOUT_MS + 15_000, 'a connection dribbling a body');
      expect(raw).toMatch(/^HTTP\/1\.1 408 /);
      expect(jsonBody(raw)).toEqual({
        code: 408,
        message: `request: not received within ${REQUEST_TIMEOUT_MS / 1000} s`,
      });
    },
    REQUEST_TIMEOUT_MS + 25_000,
  );
});
