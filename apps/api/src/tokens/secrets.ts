// Token secrets: how they are made (the format's one home is @api-tokens/client/secret-format) and the only form in which they are kept (a SHA-256 digest).
import { createHash } from 'node:crypto';
import {
  generateSecret,
  hasValidChecksum,
  isWellFormedSecret,
  SECRET_PREFIX,
} from '@api-tokens/client/secret-format';

export { generateSecret, hasValidChecksum, isWellFormedSecret, SECRET_PREFIX };

/**
 * The digest under which a secret is stored and looked up. A fast hash is right here, unlike for
 * passwords: the secret has 256 bits of entropy, so there is nothing to brute-force, and
 * authentication must stay cheap on every request.
 */
export function digestSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}
