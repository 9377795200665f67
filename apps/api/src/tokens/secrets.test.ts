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
  it('is SHA-256 of the secret, so the same secret always finds the same token', () => {
    const secret = generateSecret();
    expect(digestSecret(secret).equals(digestSecret(secret))).toBe(true);
    expect(digestSecret(secret)).toHaveLength(32);
    expect(digestSecret(secret).equals(digestSecret(generateSecret()))).toBe(false);
  });
});
