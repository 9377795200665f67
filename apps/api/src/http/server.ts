// The HTTP server around the app: deliberate timeouts and header limits, and JSON even for errors Express never sees.
import { createServer, type Server, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Express } from 'express';

/** A client that has not sent all its headers by then is cut off (slowloris). */
export const HEADERS_TIMEOUT_MS = 10_000;
/** A client that has not sent its whole request by then is cut off. */
export const REQUEST_TIMEOUT_MS = 30_000;
/** An idle keep-alive connection is closed after this long. */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** All request headers together; larger answers 431. */
export const MAX_HEADER_BYTES = 16 * 1024;

/** What the HTTP parser's refusals mean to a client, as the `{ code, message }` every error has. */
function describeClientError(code: string | undefined): { status: number; message: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        message: `headers: larger than the limit of ${MAX_HEADER_BYTES / 1024} KiB in all`,
      };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, message: `request: not received within ${REQUEST_TIMEOUT_MS / 1000} s` };
    case 'HPE_INVALID_METHOD':
      return { status: 400, message: 'request: unknown HTTP method' };
    default:
      return { status: 400, message: 'request: malformed HTTP' };
  }
}

function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const { status, message } = describeClientError(err.code);
  const body = JSON.stringify({ code: status, message });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}

export function createHttpServer(app: Express): Server {
  const server = createServer(
    {
      maxHeaderSize: MAX_HEADER_BYTES,
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      // Node checks the two timeouts above on this interval (default 30 s): check every second.
      connectionsCheckingInterval: 1_000,
    },
    app,
  );
  server.on('clientError', answerClientError);
  return server;
}
