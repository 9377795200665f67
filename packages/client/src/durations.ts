// The one duration grammar of api-tokens (90d, 12h, 1h30m, 45s): the server's settings and the CLI's flags both read it here.

/** Milliseconds per unit, largest first: the order the units must come in. */
export const DURATION_UNITS_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 } as const;

/** Whole numbers with units, largest first, each at most once: 90d, 12h, 1d12h, 1h30m, 45s. */
const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** How a message names the grammar, with examples of every unit. */
export const DURATION_EXAMPLES = '90d, 12h, 90m, 1h30m or 45s';

/** Why a text is not a duration: not in the grammar, or more milliseconds than a number counts exactly. */
export class DurationError extends RangeError {
  constructor(readonly reason: 'malformed' | 'too long') {
    super(
      reason === 'malformed'
        ? `not a duration: whole numbers with units d, h, m, s, largest first (${DURATION_EXAMPLES})`
        : 'too long a duration to count in milliseconds',
    );
    this.name = 'DurationError';
  }
}

/**
 * The milliseconds `text` says, exactly as written: no sign, no space, no fraction, lower-case
 * units. Zero (`0s`) is a duration; whether it makes sense is the caller's to say.
 */
export function parseDuration(text: string): number {
  const match = text === '' ? null : DURATION.exec(text);
  if (match === null) throw new DurationError('malformed');
  const [, d, h, m, s] = match;
  const ms =
    Number(d ?? 0) * DURATION_UNITS_MS.d +
    Number(h ?? 0) * DURATION_UNITS_MS.h +
    Number(m ?? 0) * DURATION_UNITS_MS.m +
    Number(s ?? 0) * DURATION_UNITS_MS.s;
  if (!Number.isSafeInteger(ms)) throw new DurationError('too long');
  return ms;
}

/** Milliseconds written in this grammar, largest unit first (90d, 1d12h, 45s); whole seconds, the rest dropped. */
export function formatDuration(ms: number): string {
  let rest = ms;
  let text = '';
  for (const [unit, unitMs] of Object.entries(DURATION_UNITS_MS)) {
    const count = Math.floor(rest / unitMs);
    rest -= count * unitMs;
    if (count > 0) text += `${count}${unit}`;
  }
  return text === '' ? '0s' : text;
}
