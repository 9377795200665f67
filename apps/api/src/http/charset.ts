// JSON between systems is UTF-8 (RFC 8259 §8.1): other charsets are refused, and so are bodies that are not valid UTF-8.
import { isUtf8 } from 'node:buffer';
import contentType from 'content-type';
import type { RequestHandler } from 'express';
import { ApiError } from '../errors.js';

export const requireUtf8: RequestHandler = (req, _res, next) => {
  const header = req.get('content-type');
  if (header === undefined) return next();
  let charset: string | undefined;
  try {
    charset = contentType.parse(header).parameters.charset?.toLowerCase();
  } catch {
    throw new ApiError(
      415,
      `Content-Type: ${JSON.stringify(header)} is not a valid media type, send application/json`,
    );
  }
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
