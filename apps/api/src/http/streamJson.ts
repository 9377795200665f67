// Writes a JSON array page by page, so a very large answer never sits in memory whole.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Response } from 'express';

/**
 * Answers 200 with the items of `pages` as one JSON array, a page at a time, under the socket's
 * backpressure. The first page is read before anything is sent, so a store failure there is still
 * an ordinary error answer; a failure later cuts the connection, so the client sees a truncated
 * body, never an array that parses but is missing tokens.
 */
export async function streamJsonArray(
  res: Response,
  pages: AsyncIterable<readonly unknown[]>,
): Promise<void> {
  const iterator = pages[Symbol.asyncIterator]();
  const first = await iterator.next();
  res.status(200).type('application/json');
  async function* chunks() {
    yield '[';
    let written = 0;
    for (let page = first; page.done !== true; page = await iterator.next()) {
      // One chunk per page: few writes, and the event loop turns between pages.
      if (page.value.length > 0)
        yield (written > 0 ? ',' : '') + page.value.map((item) => JSON.stringify(item)).join(',');
      written += page.value.length;
    }
    yield ']';
  }
  try {
    await pipeline(Readable.from(chunks()), res);
  } catch (err) {
    res.req.log.warn({ err }, 'streamed answer ended early');
  }
}
