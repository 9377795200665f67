// Durations and expiry flags: the forms the README promises, and never a negative or empty one.
import { describe, expect, it } from 'vitest';
import { parseDuration, parseExpiry } from './durations.js';

describe('parseDuration', () => {
  it.each([
    ['30d', 30 * 86_400_000],
    ['12h', 12 * 3_600_000],
    ['90m', 90 * 60_000],
    ['1h30m', 90 * 60_000],
    ['1d12h', 36 * 3_600_000],
    ['45s', 45_000],
  ])('%s is %i ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '-1h', '+1h', '1', 'h', '1x', '30m1h', '1.5h', '1h 30m', '1h1h'])('refuses %j', (text) =>
    expect(() => parseDuration(text)).toThrow(/expected a duration like 30d/),
  );

  it('refuses zero unless asked to allow it (a grace period of 0 revokes at once)', () => {
    expect(() => parseDuration('0h')).toThrow(/longer than zero/);
    expect(parseDuration('0h', { allowZero: true })).toBe(0);
  });

  it('refuses a duration too long to count in milliseconds', () =>
    expect(() => parseDuration('99999999999999999d')).toThrow(/too long/));
});

describe('parseExpiry', () => {
  const now = new Date('2026-11-29T10:00:00.000Z');
  it('turns a duration into the instant that long from now', () =>
    expect(parseExpiry('1h30m', now)).toBe('2026-11-29T11:30:00.000Z'));
  it('passes a date-time with a zone on as written, for the API to check', () => {
    expect(parseExpiry('2027-01-31T00:00:00Z', now)).toBe('2027-01-31T00:00:00Z');
    expect(parseExpiry('2027-01-31T00:00:00.5+01:00', now)).toBe('2027-01-31T00:00:00.5+01:00');
  });
  it.each(['2027-01-31', '2027-01-31T00:00:00', 'tomorrow', '-30d'])('refuses %j', (text) =>
    expect(() => parseExpiry(text, now)).toThrow(/or a date-time with a zone/),
  );
});
