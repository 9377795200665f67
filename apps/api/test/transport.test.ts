// The HTTP layer of the real process: header limits, slow clients and unparsable requests, each answered as JSON.
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEADERS_TIMEOUT_MS, MAX_HEADER_BYTES, REQUEST_TIMEOUT_MS } from '../src/http/server.js';
import { type ServerProcess, startServer } from './process.js';

const ADMIN = 'transport_admin_secret_0123456789_abcdef';

let dir: string;
let server: ServerProcess;
let port: number;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'api-tokens-transport-'));
  server = await startServer({ DATABASE_URL: `sqlite:${join(dir, 'tokens.db')}`, BOOTSTRAP_TOKEN: ADMIN });
  port = Number(new URL(server.baseUrl).port);
});
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

describe('slow clients are cut off', () => {
  it(
    'headers not complete within the headers timeout, and a body not complete within the request timeout',
    async () => {
      const started = Date.now();
      const slowHeaders = connect(port, '127.0.0.1');
      await once(slowHeaders, 'connect');
      slowHeaders.write('GET /v2/tokens HTTP/1.1\r\nHost: x\r\n'); // and never the blank line
      const slowBody = connect(port, '127.0.0.1');
      await once(slowBody, 'connect');
      slowBody.write(
        `POST /v2/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"na',
      );
      // Dribble a byte now and then: the socket is never idle, yet the request never completes.
      const dribble = setInterval(() => slowBody.writable && slowBody.write(' '), 2_000);
      try {
        const [headersCut, bodyCut] = await Promise.all([
          exchange('', slowHeaders).then((raw) => ({ raw, after: Date.now() - started })),
          exchange('', slowBody).then((raw) => ({ raw, after: Date.now() - started })),
        ]);
        expect(headersCut.raw).toMatch(/^HTTP\/1\.1 408 /);
        expect(headersCut.after).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
        expect(headersCut.after).toBeLessThan(REQUEST_TIMEOUT_MS);
        expect(bodyCut.raw).toMatch(/^HTTP\/1\.1 408 /);
        expect(jsonBody(bodyCut.raw)).toEqual({ code: 408, message: expect.stringContaining('request') });
        expect(bodyCut.after).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 100);
      } finally {
        clearInterval(dribble);
      }
    },
    REQUEST_TIMEOUT_MS + 15_000,
  );
});
