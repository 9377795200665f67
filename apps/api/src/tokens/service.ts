// The token rules: who a secret belongs to, what a caller may create, and the first (bootstrap) token.
import { randomUUID } from 'node:crypto';
import type { ApiToken, CreateApiToken, CreateApiTokenResponse } from '@api-tokens/client';
import { badRequest } from '../errors.js';
import type { TokenRecord, TokenStore } from '../store/store.js';
import {
  allCapabilities,
  assertGrantable,
  assertValidDatasetNames,
  type CapabilityCatalog,
  normalizeCapabilities,
} from './capabilities.js';
import { digestSecret, generateSecret } from './secrets.js';

/** The source of "now", injected so that expiry can be tested without waiting. */
export type Clock = () => Date;

/** An authenticated caller: the token whose secret came with the request. */
export type Caller = TokenRecord;

export const BOOTSTRAP_TOKEN_NAME = 'bootstrap-admin';

/** How a token is answered: the wire shape of `APIToken`, dates in RFC 3339 UTC. */
export function presentToken(token: TokenRecord): ApiToken {
  return {
    id: token.id,
    name: token.name,
    description: token.description,
    expiresAt: token.expiresAt?.toISOString() ?? null,
    datasetCapabilities: token.datasetCapabilities,
    orgCapabilities: token.orgCapabilities,
  };
}

export class TokenService {
  readonly #store: TokenStore;
  readonly #catalog: CapabilityCatalog;
  readonly #clock: Clock;

  constructor(deps: { store: TokenStore; catalog: CapabilityCatalog; clock: Clock }) {
    this.#store = deps.store;
    this.#catalog = deps.catalog;
    this.#clock = deps.clock;
  }

  /** The live token a secret belongs to; undefined when it is unknown or has expired. */
  async authenticate(secret: string): Promise<Caller | undefined> {
    const token = await this.#store.findByDigest(digestSecret(secret));
    if (token === undefined || this.#isExpired(token)) return undefined;
    return token;
  }

  /** Creates a token holding at most what `caller` holds; the answer is the only place its secret appears. */
  async createToken(caller: Caller, request: CreateApiToken): Promise<CreateApiTokenResponse> {
    const expiresAt = this.#parseExpiry(request.expiresAt);
    assertValidDatasetNames(this.#catalog, request.datasetCapabilities);
    const capabilities = normalizeCapabilities(this.#catalog, request);
    assertGrantable(caller, capabilities);

    const token: TokenRecord = {
      id: randomUUID(),
      name: request.name,
      description: request.description ?? '',
      expiresAt,
      createdAt: this.#clock(),
      ...capabilities,
    };
    const secret = generateSecret();
    await this.#store.insert(token, digestSecret(secret));
    return { ...presentToken(token), token: secret };
  }

  /**
   * On an empty store, creates the admin token holding every capability, with `secret` when given
   * (BOOTSTRAP_TOKEN) or a fresh one. Returns the secret only when this call generated it, so the
   * caller can show it once; undefined when the store already had tokens.
   */
  async bootstrap(secret?: string): Promise<{ generatedSecret?: string } | undefined> {
    if ((await this.#store.count()) > 0) return undefined;
    const value = secret ?? generateSecret();
    const token: TokenRecord = {
      id: randomUUID(),
      name: BOOTSTRAP_TOKEN_NAME,
      description: 'Created at first start; holds every capability. Create narrower tokens with it.',
      expiresAt: null,
      createdAt: this.#clock(),
      ...allCapabilities(this.#catalog),
    };
    await this.#store.insert(token, digestSecret(value));
    return secret === undefined ? { generatedSecret: value } : {};
  }

  #isExpired(token: TokenRecord): boolean {
    return token.expiresAt !== null && token.expiresAt.getTime() <= this.#clock().getTime();
  }

  #parseExpiry(expiresAt: string | null | undefined): Date | null {
    if (expiresAt == null) return null;
    const date = new Date(expiresAt);
    if (Number.isNaN(date.getTime())) throw badRequest('body.expiresAt: not a valid RFC 3339 date-time');
    if (date.getTime() <= this.#clock().getTime()) throw badRequest('body.expiresAt: must be in the future');
    return date;
  }
}
