// Durations (30d, 12h, 90m, 1h30m) and expiry times as the CLI's flags take them.
import { DurationError, parseDuration as parseSharedDuration } from '@api-tokens/client/durations';
import { InvalidArgumentError } from 'commander';

/** RFC 3339 with a zone, as the API takes it; the API checks the calendar. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i;

const DURATION_HELP = 'a duration like 30d, 12h, 90m or 1h30m';

/** Milliseconds in `text` (the grammar the server's settings read too); zero only when allowed. */
export function parseDuration(text: string, { allowZero = false } = {}): number {
  let ms: number;
  try {
    ms = parseSharedDuration(text.trim());
  } catch (err) {
    if (!(err instanceof DurationError)) throw err;
    throw new InvalidArgumentError(
      err.reason === 'too long'
        ? `expected ${DURATION_HELP}; this one is too long.`
        : `expected ${DURATION_HELP}.`,
    );
  }
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
