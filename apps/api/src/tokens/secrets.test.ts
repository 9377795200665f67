// Secrets: the format Axiom's clients expect, 256 random bits each, never repeated across CSPRNG blocks.
import { describe, expect, it } from 'vitest';
import { digestSecret, generateSecret, SECRET_PREFIX } from './secrets.js';

describe('generateSecret', () => {
  it('makes distinct secrets of 32 random bytes, across several CSPRNG blocks', () => {
    const secrets = Array.from({ length: 1000 }, generateSecret);
    expect(new Set(secrets).size).toBe(secrets.length);
    const bytes = secrets.map((secret) => {
      expect(secret).toMatch(/^xaat-[A-Za-z0-9_-]{43}$/);
      return Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64url');
    });
    for (const secret of bytes) expect(secret).toHaveLength(32);
    // Zeroed or reused bytes would show as a skewed byte distribution: 32,000 bytes, ~125 per value.
    const counts = new Array<number>(256).fill(0);
    for (const secret of bytes) for (const byte of secret) counts[byte] = (counts[byte] ?? 0) + 1;
    expect(Math.max(...counts)).toBeLessThan(200);
  });
});

describe('digestSecret', () => {
  // Digests computed outside Node (`printf %s … | sha256sum`; "abc" is FIPS 180-2's own example), so a
  // different hash, encoding or truncation fails here rather than passing as "deterministic".
  it.each([
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    [
      'xaat-00000000-0000-0000-0000-000000000000',
      'cb7c5975b809c3180fd5497988d155476115af13995da7a3a20cf83f0565e581',
    ],
  ])('is SHA-256 of the secret: %j digests to %s', (secret, hex) => {
    expect(digestSecret(secret).toString('hex')).toBe(hex);
  });

  it('gives the same secret the same digest, so the same secret always finds the same token', () => {
    const secret = generateSecret();
    expect(digestSecret(secret).equals(digestSecret(secret))).toBe(true);
    expect(digestSecret(secret).equals(digestSecret(generateSecret()))).toBe(false);
  });
});
