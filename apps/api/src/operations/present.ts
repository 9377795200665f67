// How a token is answered, everywhere: the wire shape of `APIToken`, built from a token record at the edge.
import type {
  ApiToken,
  AuditEvent as AuditEventAnswer,
  CreateApiTokenResponse,
  DatasetCapabilitiesMap,
  OrgCapabilities,
  ViewCapabilitiesMap,
} from '@api-tokens/client';
import type { AuditEvent, TokenRecord } from '../model.js';
import type { IssuedToken } from '../tokens/service.js';

/**
 * `APIToken`: dates in RFC 3339 UTC with milliseconds. The capability maps are the record's own:
 * the token rules normalized them against the catalog read from this same spec, so they hold only
 * the capabilities and actions its schemas allow (responses are validated against it in tests).
 */
export function presentToken(token: TokenRecord): ApiToken {
  return {
    id: token.id,
    name: token.name,
    description: token.description,
    expiresAt: token.expiresAt?.toISOString() ?? null,
    datasetCapabilities: token.datasetCapabilities as DatasetCapabilitiesMap,
    orgCapabilities: token.orgCapabilities as OrgCapabilities,
    viewCapabilities: token.viewCapabilities as ViewCapabilitiesMap,
    // Axiom's field; tokens issued here are never SAML-authenticated.
    samlAuthenticated: false,
    createdAt: token.createdAt.toISOString(),
    apiLastUsed: token.lastUsedAt?.toISOString() ?? null,
    // Extensions, answered only when set, so that every answer for a token bound nowhere and
    // starting at once is what it was before (and what Axiom's clients have always decoded).
    ...(token.allowedCidrs.length > 0 ? { allowedCidrs: [...token.allowedCidrs] } : {}),
    ...(token.notBefore !== null ? { notBefore: token.notBefore.toISOString() } : {}),
  };
}

/** A new token as created or regenerated: `APIToken` and, this once, its secret. */
export function presentIssuedToken({ token, secret }: IssuedToken): CreateApiTokenResponse {
  return { ...presentToken(token), token: secret };
}

/** `AuditEvent`: where the request came from as `client` and `requestId`, the time in RFC 3339 UTC. */
export function presentAuditEvent(event: AuditEvent): AuditEventAnswer {
  return {
    id: event.id,
    time: event.time.toISOString(),
    type: event.type,
    actor: event.actor,
    target: event.target,
    client: event.provenance === null ? null : { address: event.provenance.address },
    requestId: event.provenance?.requestId ?? null,
    details: { ...event.details },
  };
}
