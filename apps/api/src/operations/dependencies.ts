// What every operation handler is made from; apart from index.ts, so handlers and the registry import no circle.
import type { LeakReportLimiter, TokenRequestLimiter } from '../http/rateLimits.js';
import type { TokenService } from '../tokens/service.js';
import type { ListDeliveries } from '../webhooks/deliveries.js';

export interface OperationDependencies {
  tokens: TokenService;
  /** Requests per token (RATE_LIMIT_PER_TOKEN_PER_SEC), which a verification spends for the token verified. */
  tokenRequests: TokenRequestLimiter;
  /** Leak reports per client address (LEAK_REPORTS_PER_MINUTE). */
  leakReports: LeakReportLimiter;
  /** The webhook outbox's deliveries, newest first. */
  listDeliveries: ListDeliveries;
}
