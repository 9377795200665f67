// Token secrets: how they are made and the only form in which they are kept (a SHA-256 digest).
import { createHash, randomBytes } from 'node:crypto';

/** What Axiom's clients recognise as an API token. */
export const SECRET_PREFIX = 'xaat-';

/** 256 bits from the CSPRNG; base64url keeps the secret safe in headers and shells. */
const SECRET_BYTES = 32;

/** A value accepted as BOOTSTRAP_TOKEN: long enough to be unguessable, plain enough for any shell. */
export const BOOTSTRAP_SECRET_PATTERN = /^[A-Za-z0-9_-]{32,}$/;

/**
 * CSPRNG bytes are drawn a block at a time and each byte is handed out once, then zeroed: one call
 * into the CSPRNG per 128 secrets instead of one per secret, which costs about 5 µs here (Node's
 * randomUUID keeps a cache the same way). Zeroing keeps issued secrets out of the block.
 */
const BLOCK_BYTES = SECRET_BYTES * 128;
let block = Buffer.alloc(0);
let offset = 0;

export function generateSecret(): string {
  if (offset + SECRET_BYTES > block.length) {
    block = randomBytes(BLOCK_BYTES);
    offset = 0;
  }
  const secret = block.toString('base64url', offset, offset + SECRET_BYTES);
  block.fill(0, offset, offset + SECRET_BYTES);
  offset += SECRET_BYTES;
  return SECRET_PREFIX + secret;
}

/**
 * The digest under which a secret is stored and looked up. A fast hash is right here, unlike for
 * passwords: the secret has 256 bits of entropy, so there is nothing to brute-force, and
 * authentication must stay cheap on every request.
 */
export function digestSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}
