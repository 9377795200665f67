import { describe, expect, it } from 'vitest';
import { EXPIRY_PRESETS, expiresAtOf, presetsWithin, SOON_MS, statusOf } from './dates';

const NOW = Date.parse('2026-12-02T12:00:00Z');

describe('statusOf', () => {
  it('is live without an expiry or with one more than 7 days away', () => {
    expect(statusOf(null, NOW)).toBe('live');
    expect(statusOf(new Date(NOW + SOON_MS + 1).toISOString(), NOW)).toBe('live');
  });

  it('expires within 7 days, expired once past', () => {
    expect(statusOf(new Date(NOW + SOON_MS).toISOString(), NOW)).toBe('expires within 7 days');
    expect(statusOf(new Date(NOW).toISOString(), NOW)).toBe('expired');
  });
});

describe('presetsWithin', () => {
  const values = (maxLifetimeSeconds: number | null) =>
    presetsWithin(maxLifetimeSeconds).map(({ value }) => value);

  it('offers every preset without a cap', () => {
    expect(presetsWithin(null)).toEqual(EXPIRY_PRESETS);
  });

  it('offers no "never" under a cap, nor days beyond it, and always a date', () => {
    expect(values(90 * 86_400)).toEqual(['7', '30', '90', 'date']);
    expect(values(30 * 86_400)).toEqual(['7', '30', 'date']);
    expect(values(30 * 86_400 - 1)).toEqual(['7', 'date']);
    expect(values(3600)).toEqual(['date']);
  });
});

describe('expiresAtOf', () => {
  it('turns a preset of days into an instant that many days ahead', () => {
    expect(expiresAtOf('30', '', NOW)).toBe('2027-01-01T12:00:00.000Z');
  });

  it('is null for never, and undefined for a date not given', () => {
    expect(expiresAtOf('never', '', NOW)).toBeNull();
    expect(expiresAtOf('date', '', NOW)).toBeUndefined();
  });

  it('ends a chosen date at the end of that day, local time', () => {
    const at = new Date(expiresAtOf('date', '2027-03-04', NOW) ?? '');
    expect([at.getFullYear(), at.getMonth(), at.getDate(), at.getHours(), at.getMinutes()]).toEqual([
      2027, 2, 4, 23, 59,
    ]);
  });
});
