// Secrets: the checksummed format (its own tests are the client's), each drawn when made, stored only as a digest.
import { describe, expect, it } from 'vitest';
import { digestSecret, generateSecret, hasValidChecksum } from './secrets.js';

describe('generateSecret', () => {
  it('makes distinct secrets of the checksummed format', () => {
    const secrets = Array.from({ length: 1000 }, generateSecret);
    expect(new Set(secrets).size).toBe(secrets.length);
    for (const secret of secrets) {
      expect(secret).toMatch(/^xaat-[0-9A-Za-z]{49}$/);
      expect(hasValidChecksum(secret)).toBe(true);
    }
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
