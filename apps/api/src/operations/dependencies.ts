// What every operation handler is made from; apart from index.ts, so handlers and the registry import no circle.
import type { TokenService } from '../tokens/service.js';

export interface OperationDependencies {
  tokens: TokenService;
}
