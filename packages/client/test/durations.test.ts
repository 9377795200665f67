// The duration grammar shared by the server's settings and the CLI: every form either accepted before, and nothing looser.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DURATION_UNITS_MS, DurationError, parseDuration } from '../src/durations.js';

const UNITS = Object.keys(DURATION_UNITS_MS) as (keyof typeof DURATION_UNITS_MS)[];

describe('parseDuration', () => {
  it.each([
    // The server's settings (one unit, digits only): EXPIRED_TOKEN_RETENTION, AUDIT_RETENTION.
    ['30s', 30_000],
    ['90m', 90 * 60_000],
    ['36h', 36 * 3_600_000],
    ['7d', 7 * 86_400_000],
    ['0d', 0],
    ['999999999m', 999_999_999 * 60_000],
    // The CLI's flags (units combined, largest first).
    ['12h', 12 * 3_600_000],
    ['1h30m', 90 * 60_000],
    ['1d12h', 36 * 3_600_000],
    ['1d2h3m4s', 86_400_000 + 2 * 3_600_000 + 3 * 60_000 + 4000],
    ['007m', 7 * 60_000],
    ['0h', 0],
  ])('reads %s as %i ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each([
    '',
    '7',
    'd',
    '7w',
    '1.5h',
    '-1d',
    '+1h',
    '7 d',
    ' 7d',
    '7d ',
    '7D',
    '1x',
    '30m1h',
    '1h 30m',
    '1h1h',
    '1e3s',
  ])('refuses %j as malformed', (text) => {
    expect(() => parseDuration(text)).toThrow(DurationError);
    expect(() => parseDuration(text)).toThrow(/^not a duration: /);
  });

  it.each(['999999999d', '99999999999999999d', `${'9'.repeat(400)}s`, '104249991d9h'])(
    'refuses %s, more milliseconds than a number counts exactly',
    (text) => {
      expect(() => parseDuration(text)).toThrow(new DurationError('too long'));
    },
  );

  it('reads any whole amounts of the units, largest first, as their sum', () => {
    const part = fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: undefined });
    fc.assert(
      fc.property(fc.tuple(part, part, part, part), (amounts) => {
        fc.pre(amounts.some((amount) => amount !== undefined));
        const text = amounts
          .map((amount, i) => (amount === undefined ? '' : `${amount}${UNITS[i]}`))
          .join('');
        const ms = amounts.reduce<number>(
          (sum, amount, i) =>
            sum + (amount ?? 0) * DURATION_UNITS_MS[UNITS[i] as keyof typeof DURATION_UNITS_MS],
          0,
        );
        expect(parseDuration(text)).toBe(ms);
      }),
    );
  });

  it('refuses units out of order or repeated', () => {
    const amount = fc.integer({ min: 0, max: 1000 });
    const unitIndex = fc.integer({ min: 0, max: UNITS.length - 1 });
    fc.assert(
      fc.property(amount, unitIndex, amount, unitIndex, (first, firstUnit, second, secondUnit) => {
        fc.pre(secondUnit <= firstUnit);
        const text = `${first}${UNITS[firstUnit]}${second}${UNITS[secondUnit]}`;
        expect(() => parseDuration(text)).toThrow(DurationError);
      }),
    );
  });

  it('refuses any text with a character outside digits and the units', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }).filter((text) => /[^0-9dhms]/.test(text)),
        (text) => {
          expect(() => parseDuration(text)).toThrow(DurationError);
        },
      ),
    );
  });
});
