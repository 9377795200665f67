// Refuses request bodies in any charset but UTF-8, the only encoding JSON may use between systems (RFC 8259 §8.1).
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
