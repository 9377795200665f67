// Dates as people read them: in their locale, the exact time on hover; and the expiry presets of the forms.

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

export const SOON_MS = 7 * DAY_MS;

export type TokenStatus = 'live' | 'expires within 7 days' | 'expired';

export function statusOf(expiresAt: string | null, now = Date.now()): TokenStatus {
  if (expiresAt === null) return 'live';
  const at = Date.parse(expiresAt);
  if (at <= now) return 'expired';
  return at - now <= SOON_MS ? 'expires within 7 days' : 'live';
}

export function formatDate(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** The exact instant, for a title: full date and time to the second, with the zone. */
export function formatExact(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'full', timeStyle: 'long' });
}

/** The expiry presets of "New token" and "Regenerate": days from now, a date, or never. */
export const EXPIRY_PRESETS = [
  { value: '7', label: 'In 7 days' },
  { value: '30', label: 'In 30 days' },
  { value: '90', label: 'In 90 days' },
  { value: 'date', label: 'On a date' },
  { value: 'never', label: 'Never' },
] as const;
export type ExpiryPreset = (typeof EXPIRY_PRESETS)[number]['value'];

/**
 * The presets the server's cap on a token's lifetime (GET /tokens/policy's `maxLifetimeSeconds`;
 * null: none) allows: no "never" under a cap, and no number of days beyond it. A date is always
 * offered; the server names the limit if it is too far.
 */
export function presetsWithin(maxLifetimeSeconds: number | null | undefined) {
  if (maxLifetimeSeconds == null) return EXPIRY_PRESETS;
  return EXPIRY_PRESETS.filter(({ value }) =>
    value === 'date' ? true : value === 'never' ? false : Number(value) * DAY_MS <= maxLifetimeSeconds * 1000,
  );
}

/**
 * The `expiresAt` a preset means: an RFC 3339 instant, or null for never. A date means the end of
 * that day in the person's time zone; undefined when the preset is "a date" and none is given.
 */
export function expiresAtOf(preset: ExpiryPreset, date: string, now = Date.now()): string | null | undefined {
  if (preset === 'never') return null;
  if (preset === 'date') {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return undefined;
    const [year, month, day] = date.split('-').map(Number) as [number, number, number];
    return new Date(year, month - 1, day, 23, 59, 59).toISOString();
  }
  return new Date(now + Number(preset) * DAY_MS).toISOString();
}

/** The grace presets of "Regenerate": how long the old secret keeps working. */
export const GRACE_PRESETS = [
  { value: 0, label: 'Now' },
  { value: HOUR_MS, label: '1 hour' },
  { value: DAY_MS, label: '24 hours' },
  { value: 7 * DAY_MS, label: '7 days' },
] as const;
