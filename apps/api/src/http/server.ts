// The HTTP server around the app: deliberate timeouts and header limits, and JSON even for errors Express never sees.
import { createServer, type IncomingMessage, type Server, STATUS_CODES } from 'node:http';
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
/** How long a refused client gets to read its error answer before its connection is destroyed anyway. */
const ANSWER_GRACE_MS = 1_000;

/** The last request on each connection whose headers arrived, to tell which deadline a timeout missed. */
const lastRequest = new WeakMap<Duplex, IncomingMessage>();

/** What the HTTP parser's refusals mean to a client, as the `{ code, message }` every error has. */
function describeClientError(code: string | undefined, socket: Duplex): { status: number; message: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        message: `headers: larger than the limit of ${MAX_HEADER_BYTES / 1024} KiB in all`,
      };
    case 'ERR_HTTP_REQUEST_TIMEOUT': {
      // Node reports both deadlines with this one code: if no request of this connection is still
      // being read, the one in progress has not finished its headers.
      const request = lastRequest.get(socket);
      return request === undefined || request.complete
        ? { status: 408, message: `headers: not received within ${HEADERS_TIMEOUT_MS / 1000} s` }
        : { status: 408, message: `request: not received within ${REQUEST_TIMEOUT_MS / 1000} s` };
    }
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
  const { status, message } = describeClientError(err.code, socket);
  const body = JSON.stringify({ code: status, message });
  // An http.Server is half-open: end() alone sends FIN and waits for the client's, which a slow
  // client need never send, and Node's timeout check has already stopped watching this connection.
  // So the connection is destroyed once the answer is out, or after a grace if it cannot get out.
  const grace = setTimeout(() => socket.destroy(), ANSWER_GRACE_MS);
  socket.once('close', () => clearTimeout(grace));
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
    () => socket.destroy(),
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
  server.on('request', (request: IncomingMessage) => lastRequest.set(request.socket, request));
  server.on('clientError', answerClientError);
  return server;
}
