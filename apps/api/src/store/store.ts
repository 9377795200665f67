// TokenStore: the persistence boundary. Async, so a networked store (PostgreSQL) can stand in for SQLite unchanged.
import type { Capabilities } from '../tokens/capabilities.js';

/** A token as persisted; the secret itself never is, only its digest. */
export interface TokenRecord extends Capabilities {
  id: string;
  name: string;
  description: string;
  /** null: never expires. */
  expiresAt: Date | null;
  createdAt: Date;
}

export interface TokenStore {
  /** Persists a token durably before resolving: once this resolves, a crash does not lose it. */
  insert(token: TokenRecord, secretDigest: Buffer): Promise<void>;
  /** The token whose secret has this digest, expired or not. */
  findByDigest(secretDigest: Buffer): Promise<TokenRecord | undefined>;
  count(): Promise<number>;
  close(): Promise<void>;
}
