// Durations (30d, 12h, 90m, 1h30m) and expiry times as the CLI's flags take them.
import { InvalidArgumentError } from 'commander';

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 } as const;
/** Whole numbers with units, largest first, each at most once: 1d12h, 90m, 1h30m. */
const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;
/** RFC 3339 with a zone, as the API takes it; the API checks the calendar. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i;

const DURATION_HELP = 'a duration like 30d, 12h, 90m or 1h30m';

/** Milliseconds in `text`; never negative (a sign is no part of the syntax), zero only when allowed. */
export function parseDuration(text: string, { allowZero = false } = {}): number {
  const match = DURATION.exec(text.trim());
  if (match === null || text.trim() === '') throw new InvalidArgumentError(`expected ${DURATION_HELP}.`);
  const [, d, h, m, s] = match;
  const ms =
    Number(d ?? 0) * UNIT_MS.d +
    Number(h ?? 0) * UNIT_MS.h +
    Number(m ?? 0) * UNIT_MS.m +
    Number(s ?? 0) * UNIT_MS.s;
  if (!Number.isSafeInteger(ms))
    throw new InvalidArgumentError(`expected ${DURATION_HELP}; this one is too long.`);
  if (ms === 0 && !allowZero) throw new InvalidArgumentError(`expected ${DURATION_HELP}, longer than zero.`);
  return ms;
}

/**
 * An expiry flag: a duration from `now` (30d) or an RFC 3339 date-time with a zone
 * (2027-01-31T00:00:00Z), passed to the API as written so that its checks and messages apply.
 */
export function parseExpiry(text: string, now: Date = new Date()): string {
  if (DATE_TIME.test(text.trim())) return text.trim();
  try {
    return new Date(now.getTime() + parseDuration(text)).toISOString();
  } catch {
    throw new InvalidArgumentError(
      `expected ${DURATION_HELP} from now, or a date-time with a zone like 2027-01-31T00:00:00Z.`,
    );
  }
}
