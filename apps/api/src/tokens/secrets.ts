// Token secrets: how they are made and the only form in which they are kept (a SHA-256 digest).
import { createHash, randomBytes } from 'node:crypto';

/** What Axiom's clients recognise as an API token. */
export const SECRET_PREFIX = 'xaat-';

/** 256 bits from the CSPRNG; base64url keeps the secret safe in headers and shells. */
const SECRET_BYTES = 32;

/** A value accepted as BOOTSTRAP_TOKEN: long enough to be unguessable, plain enough for any shell. */
export const BOOTSTRAP_SECRET_PATTERN = /^[A-Za-z0-9_-]{32,}$/;

export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64url');
}

/**
 * The digest under which a secret is stored and looked up. A fast hash is right here, unlike for
 * passwords: the secret has 256 bits of entropy, so there is nothing to brute-force, and
 * authentication must stay cheap on every request.
 */
export function digestSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}
