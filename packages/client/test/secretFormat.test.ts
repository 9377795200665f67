// The checksummed secret format (issue 22 §5): the regex scanners use, the CRC32 they check, no modulo bias.
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  generateSecret,
  hasValidChecksum,
  isWellFormedSecret,
  SECRET_PATTERN,
  secretChecksum,
} from '../src/index.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** The checksum as docs/secret-scanning.md states it, from zlib's own CRC32. */
function checksumFromZlib(random: string): string {
  let value = crc32(Buffer.from(random, 'ascii'));
  let digits = '';
  for (let i = 0; i < 6; i++) {
    digits = BASE62[value % 62] + digits;
    value = Math.floor(value / 62);
  }
  return digits;
}

describe('generateSecret', () => {
  const secrets = Array.from({ length: 10_000 }, generateSecret);

  it('makes 10,000 distinct secrets that match the scanning regex and pass the checksum', () => {
    expect(new Set(secrets).size).toBe(secrets.length);
    const rule = /^xaat-[0-9A-Za-z]{49}$/; // docs/secret-scanning.md's
    const failing = secrets.filter(
      (secret) =>
        secret.length !== 54 ||
        !rule.test(secret) ||
        !hasValidChecksum(secret) ||
        !isWellFormedSecret(secret) ||
        // The checksum is zlib's CRC32 of the 43 random characters, 6 base62 digits, most significant first.
        secret.slice(48) !== checksumFromZlib(secret.slice(5, 48)),
    );
    expect(failing).toEqual([]);
  });

  it('draws each base62 character about equally often (rejection sampling, no modulo bias)', () => {
    const counts = new Map<string, number>();
    for (const secret of secrets)
      for (const char of secret.slice(5, 48)) counts.set(char, (counts.get(char) ?? 0) + 1);
    expect([...counts.keys()].sort().join('')).toBe([...BASE62].sort().join(''));
    // 430,000 characters, ~6,935 each: with modulo bias (byte % 62) the first 8 would get ~8,400.
    for (const [char, count] of counts) {
      expect(count, char).toBeGreaterThan(6_500);
      expect(count, char).toBeLessThan(7_400);
    }
  });

  it('fails the checksum after any single-character change', () => {
    const passed: string[] = [];
    let changes = 0;
    for (const secret of secrets.slice(0, 100)) {
      for (let at = 0; at < secret.length; at++) {
        // Within the prefix, any other character; after it, every other base62 character.
        for (const replacement of at < 5 ? ['_', 'X', '0'] : BASE62) {
          if (replacement === secret[at]) continue;
          const changed = secret.slice(0, at) + replacement + secret.slice(at + 1);
          changes++;
          if (isWellFormedSecret(changed)) passed.push(`${changed} (from ${secret})`);
        }
      }
    }
    expect(changes).toBeGreaterThan(100 * 49 * 61);
    expect(passed).toEqual([]);
  });
});

describe('secretChecksum', () => {
  it("is zlib's CRC32 written in 6 base62 digits, zero-padded", () => {
    expect(secretChecksum('')).toBe('000000');
    expect(crc32(Buffer.from('a'))).toBe(0xe8b7be43);
    expect(secretChecksum('a')).toBe(checksumFromZlib('a'));
    expect(SECRET_PATTERN.test(`xaat-${'0'.repeat(43)}${secretChecksum('0'.repeat(43))}`)).toBe(true);
  });
});

describe('isWellFormedSecret', () => {
  it('accepts the first format (43 base64url characters, no checksum), which keeps working', () => {
    expect(isWellFormedSecret('xaat-ZXhhbXBsZS1vbmx5LW5vdC1hLXJlYWwtc2VjcmV0LTA')).toBe(true);
    expect(isWellFormedSecret(`xaat-${'ab_cd-'.repeat(7)}x`)).toBe(true);
  });

  it('refuses what cannot be a secret of this service', () => {
    const good = generateSecret();
    for (const bad of [
      '',
      'xaat-',
      'a'.repeat(32),
      `xapt-${good.slice(5)}`,
      good.slice(0, -1),
      `${good}0`,
      `${good.slice(0, 20)}_${good.slice(21)}`,
      ` ${good}`,
      'xaat-ZXhhbXBsZS1vbmx5LW5vdC1hLXJlYWwtc2VjcmV0LT', // first format, one short
    ]) {
      expect(isWellFormedSecret(bad), bad).toBe(false);
    }
  });
});
