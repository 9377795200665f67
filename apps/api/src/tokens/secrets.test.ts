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
