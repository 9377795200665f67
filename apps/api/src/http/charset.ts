// Request bodies are JSON in UTF-8 (RFC 8259 §8.1): other media types and charsets are refused before
// the body is read, and so are bodies that are not valid UTF-8.
import { isUtf8 } from 'node:buffer';
import contentType from 'content-type';
import type { RequestHandler } from 'express';
import { ApiError } from './apiError.js';

/** The only media type an operation's requestBody may declare (checked against the spec at start-up). */
export const JSON_MEDIA_TYPE = 'application/json';

/**
 * The body encodings accepted. The body parser decodes these on every Node version, and zstd too on
 * Node 22.15 and later, where zlib has it: refusing anything else here keeps one contract on all of them.
 */
const CONTENT_ENCODINGS = new Set(['identity', 'gzip', 'deflate', 'br']);

/** Runs ahead of the body parser on operations that take a body. */
export const requireJsonBody: RequestHandler = (req, _res, next) => {
  // As the body parser reads it: absent or empty is identity, and there is no list of several.
  const encoding = (req.headers['content-encoding'] || 'identity').toLowerCase();
  if (!CONTENT_ENCODINGS.has(encoding)) {
    throw new ApiError(
      415,
      `Content-Encoding: ${JSON.stringify(encoding)} is not supported, send the body uncompressed or as gzip, deflate or br`,
    );
  }
  const header = req.headers['content-type'];
  if (header === undefined) {
    throw new ApiError(415, `Content-Type: missing, send the body as ${JSON_MEDIA_TYPE}`);
  }
  let parsed: ReturnType<typeof contentType.parse>;
  try {
    parsed = contentType.parse(header);
  } catch {
    throw new ApiError(
      415,
      `Content-Type: ${JSON.stringify(header)} is not a valid media type, send ${JSON_MEDIA_TYPE}`,
    );
  }
  if (parsed.type !== JSON_MEDIA_TYPE) {
    throw new ApiError(
      415,
      `Content-Type: ${JSON.stringify(header)} is not supported, send the body as ${JSON_MEDIA_TYPE}`,
    );
  }
  const charset = parsed.parameters.charset?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new ApiError(415, `Content-Type: unsupported charset ${JSON.stringify(charset)}, use utf-8`);
  }
  next();
};

/**
 * The body parser's `verify` hook: without it, invalid bytes would be decoded silently into U+FFFD
 * and stored as a name the client never sent.
 */
export function verifyUtf8(_req: unknown, _res: unknown, body: Buffer): void {
  if (!isUtf8(body)) throw new Error('body is not valid UTF-8');
}
