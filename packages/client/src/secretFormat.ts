// The secret format of api-tokens: what a token's secret looks like, its checksum, and how a new one is drawn.

/** What Axiom's clients recognise as an API token; every secret of this service starts with it. */
export const SECRET_PREFIX = 'xaat-';

/**
 * A secret of the current format: `xaat-`, 43 random base62 characters (about 256 bits), then 6
 * base62 characters of checksum (CRC32 of the random part). The regex secret scanners match.
 */
export const SECRET_PATTERN = /^xaat-[0-9A-Za-z]{49}$/;

/**
 * A secret of the first format (`xaat-` and 43 base64url characters, 256 random bits, no checksum).
 * Such secrets keep working until they expire or are revoked; none is issued any more.
 */
export const LEGACY_SECRET_PATTERN = /^xaat-[A-Za-z0-9_-]{43}$/;

/** `0-9` = 0–9, `A-Z` = 10–35, `a-z` = 36–61. */
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Random characters in a secret: 43 × log2(62) ≈ 256 bits. */
export const SECRET_RANDOM_LENGTH = 43;

/** Base62 digits of the checksum: 62^6 > 2^32, so any CRC32 fits. */
export const SECRET_CHECKSUM_LENGTH = 6;

/**
 * The largest multiple of 62 that a byte can hold (4 × 62): a byte at or above it is thrown away,
 * so that `byte % 62` is uniform (no modulo bias towards the first 8 characters).
 */
const UNBIASED_BYTE_LIMIT = 248;

/**
 * CRC-32 (IEEE 802.3, the polynomial of zlib's `crc32`), by table. Written out rather than taken
 * from `node:zlib` because this package also runs in browsers (the console); the tests check it
 * against `zlib.crc32`.
 */
const CRC32_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 of a string's character codes, which are its ASCII bytes for a base62 string. */
function crc32OfAscii(text: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) {
    crc = (CRC32_TABLE[(crc ^ text.charCodeAt(i)) & 0xff] as number) ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** The 6 base62 checksum characters of a secret's 43 random characters: their CRC32, most significant digit first. */
export function secretChecksum(random: string): string {
  let value = crc32OfAscii(random);
  let digits = '';
  for (let i = 0; i < SECRET_CHECKSUM_LENGTH; i++) {
    digits = BASE62[value % 62] + digits;
    value = Math.floor(value / 62);
  }
  return digits;
}

/** Whether `secret` has the current format and its checksum matches: recognisable offline, with no store read. */
export function hasValidChecksum(secret: string): boolean {
  if (!SECRET_PATTERN.test(secret)) return false;
  const random = secret.slice(SECRET_PREFIX.length, SECRET_PREFIX.length + SECRET_RANDOM_LENGTH);
  return secret.slice(SECRET_PREFIX.length + SECRET_RANDOM_LENGTH) === secretChecksum(random);
}

/**
 * Whether `secret` can be a secret of this service: the current format with a matching checksum,
 * or the first format (which has no checksum to check). Anything else cannot be a token's secret,
 * so it is refused without asking the service.
 */
export function isWellFormedSecret(secret: string): boolean {
  return hasValidChecksum(secret) || LEGACY_SECRET_PATTERN.test(secret);
}

/**
 * A new secret in the current format, from the platform's CSPRNG (`crypto.getRandomValues`, in Node
 * 20+ and browsers) at the moment it is made: nothing is drawn ahead or kept, so no future secret
 * sits in memory.
 */
export function generateSecret(): string {
  let random = '';
  // 64 bytes give 43 accepted characters unless more than 21 are thrown away (p < 10^-15); then draw again.
  const bytes = new Uint8Array(64);
  while (random.length < SECRET_RANDOM_LENGTH) {
    globalThis.crypto.getRandomValues(bytes);
    for (const byte of bytes) {
      if (byte >= UNBIASED_BYTE_LIMIT) continue;
      random += BASE62[byte % 62];
      if (random.length === SECRET_RANDOM_LENGTH) break;
    }
  }
  bytes.fill(0);
  return SECRET_PREFIX + random + secretChecksum(random);
}
