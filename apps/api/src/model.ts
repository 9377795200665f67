// The vocabulary the token rules and the stores share: capabilities and the stored token. Below both, importing neither.

/** An action a capability allows (create, read, update, delete); which exist comes from the spec, as data. */
export type Action = string;

/** Capability name → the actions granted on it (null or absent: none). */
export type ActionLists = Readonly<Record<string, readonly Action[]>>;

/** Dataset (or view) name → what is granted on it; `*` stands for every name. */
export type ScopedCapabilities = Readonly<Record<string, ActionLists>>;

/** The capabilities a token holds, in the spec's own words. */
export interface Capabilities {
  datasetCapabilities: ScopedCapabilities;
  orgCapabilities: ActionLists;
  viewCapabilities: ScopedCapabilities;
}

/** A token as persisted; the secret itself never is, only its digest. Tokens never change but for expiry. */
export interface TokenRecord extends Capabilities {
  id: string;
  name: string;
  description: string;
  /** null: never expires. */
  expiresAt: Date | null;
  createdAt: Date;
  /** When it last authenticated a request or was verified, to within a minute; null: never used. */
  lastUsedAt: Date | null;
  /** The id of the token a regenerate replaced it with; null: not replaced. */
  replacedBy: string | null;
  /** The networks it may be used from, normalised CIDRs (tokens/networks.ts); empty: anywhere. */
  allowedCidrs: readonly string[];
  /** Before this it authenticates nothing; null: from its creation. */
  notBefore: Date | null;
}

/**
 * What an audit event can record: the spec's AuditEventType, which the rules write by name
 * (test/audit.test.ts checks the two lists are the same).
 */
export const AUDIT_EVENT_TYPES = [
  'token.created',
  'token.regenerated',
  'token.deleted',
  'token.bootstrapped',
  'token.recovered',
  'token.leaked',
  'auth.refused',
  'token.expiring',
  'token.expired',
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** A token as an event names it. */
export interface TokenRef {
  tokenId: string;
  name: string;
}

/** Where a change came from: the client's address and the request's id; absent for the system's own. */
export interface Provenance {
  address: string;
  requestId: string;
}

/** One entry of the audit trail. Never holds a secret or a digest of one. */
export interface AuditEvent {
  /** A UUIDv7: ids sort in the order events were made. */
  id: string;
  time: Date;
  type: AuditEventType;
  /** The token whose request did it; null for the system. */
  actor: TokenRef | null;
  /** The token it happened to; null for refused authentications. */
  target: TokenRef | null;
  provenance: Provenance | null;
  details: Readonly<Record<string, unknown>>;
}

/**
 * The store cannot serve right now (disk full or read-only, database locked, I/O failing). The
 * operation changed nothing and may be retried; the store recovers by itself when the cause clears.
 */
export class StoreUnavailableError extends Error {
  readonly reason: string;

  constructor(reason: string, options?: { cause?: unknown }) {
    super(`token store unavailable: ${reason}`, options);
    this.name = 'StoreUnavailableError';
    this.reason = reason;
  }
}
