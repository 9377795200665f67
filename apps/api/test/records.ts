// Token records for store tests: each with its own id, and secret digests that never repeat.
import type { TokenRecord } from '../src/store/store.js';

let serial = 0;

/** A record holding no capabilities, created at the epoch; its id is `name` plus a serial number. */
export function tokenRecord(name = 'token', expiresAt: Date | null = null): TokenRecord {
  return {
    id: `${name}-${serial++}`,
    name,
    description: '',
    expiresAt,
    createdAt: new Date(0),
    datasetCapabilities: {},
    orgCapabilities: {},
    viewCapabilities: {},
    lastUsedAt: null,
    replacedBy: null,
    allowedCidrs: [],
    notBefore: null,
  };
}

/** A 32-byte secret digest no other call returns. */
export const uniqueDigest = (): Buffer => Buffer.from(`digest-${serial++}`.padEnd(32, '.'));
