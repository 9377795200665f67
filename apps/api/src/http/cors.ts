// CORS, off unless origins are configured: then exactly those origins may call the API from a browser.
import cors from 'cors';
import type { RequestHandler } from 'express';

export function crossOrigin(origins: readonly string[]): RequestHandler {
  return cors({
    origin: [...origins],
    methods: ['GET', 'POST', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type'],
    // What a browser client needs to read: paging, back-off and why it was refused.
    exposedHeaders: ['Link', 'Retry-After', 'WWW-Authenticate'],
    maxAge: 600,
  });
}
