// When a token is live: the one expiry predicate every rule uses (a store's reads filter by the same, see store.ts).

/** Live at `now`: it never expires, or expires after `now` (at its expiry instant it is already gone). */
export const isLive = (token: { expiresAt: Date | null }, now: Date): boolean =>
  token.expiresAt === null || token.expiresAt.getTime() > now.getTime();
