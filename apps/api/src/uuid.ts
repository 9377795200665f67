// UUIDv7s (request ids, audit event ids) from a pooled CSPRNG block, in the order they were made.
import { randomFillSync } from 'node:crypto';
import { v7 } from 'uuid';

/**
 * uuid 14's own v7() asks the kernel for 16 random bytes on every call (crypto.getRandomValues):
 * about 10 µs a call on the benchmark machine, a request id on every request (docs/benchmarks.md).
 * One randomFillSync fills the pool for this many ids instead. These bytes make ids, not secrets:
 * secrets are still drawn when they are made (generateSecret).
 */
const IDS_PER_FILL = 256;
const pool = Buffer.alloc(16 * IDS_PER_FILL);
let used = pool.length;

/** The millisecond and counter of the last id, as uuid keeps them: ids made in one millisecond still sort in order. */
let lastMillis = Number.NEGATIVE_INFINITY;
let sequence = 0;

/** A new UUIDv7, greater than every one made before it in this process (as uuid's v7() without options). */
export function uuidv7(): string {
  if (used === pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const random = pool.subarray(used, used + 16);
  used += 16;
  const now = Date.now();
  if (now > lastMillis) {
    // A new millisecond: the counter starts from 31 random bits, as uuid's does.
    sequence = random.readUInt32BE(6) & 0x7fffffff;
    lastMillis = now;
  } else {
    sequence = (sequence + 1) | 0;
    if (sequence === 0) lastMillis++;
  }
  return v7({ random, msecs: lastMillis, seq: sequence });
}
