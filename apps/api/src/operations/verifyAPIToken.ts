// POST /tokens/verify: for a receiving service, whether a secret is live and holds what a request needs.
import type { ApiTokenVerdict, VerifyApiToken } from '@api-tokens/client';
import type { Request, Response } from 'express';
import { badRequest } from '../http/apiError.js';
import { isIpAddress } from '../tokens/networks.js';
import type { Verdict } from '../tokens/service.js';
import type { OperationDependencies } from './dependencies.js';
import { presentToken } from './present.js';

export function verifyAPIToken({ tokens, tokenRequests }: OperationDependencies) {
  /** The verdict as answered; a live token over its rate limit is refused for that, and says when to retry. */
  async function present(verdict: Verdict): Promise<ApiTokenVerdict> {
    if (
      verdict.code === 'EXPIRED' ||
      verdict.code === 'NOT_FOUND' ||
      verdict.code === 'NOT_YET_VALID' ||
      verdict.code === 'ADDRESS_NOT_ALLOWED'
    )
      return { valid: false, code: verdict.code };
    // A verification is a use of the verified token: it counts against that token's limit.
    const retryAfter = await tokenRequests.consume(verdict.token.id);
    if (retryAfter !== undefined) return { valid: false, code: 'RATE_LIMITED', retryAfter };
    if (verdict.code === 'VALID') return { valid: true, code: 'VALID', token: presentToken(verdict.token) };
    return {
      valid: false,
      code: 'INSUFFICIENT_CAPABILITIES',
      token: presentToken(verdict.token),
      missing: verdict.missing,
    };
  }

  return async (req: Request<unknown, ApiTokenVerdict, VerifyApiToken>, res: Response<ApiTokenVerdict>) => {
    const { clientAddress } = req.body;
    if (clientAddress !== undefined && !isIpAddress(clientAddress)) {
      throw badRequest(
        `body.clientAddress: ${JSON.stringify(clientAddress)} is not an IPv4 or IPv6 address; pass the address the token came from`,
      );
    }
    const verdict = await tokens.verify(req.body.token, req.body.require ?? {}, clientAddress);
    res.status(200).json(await present(verdict));
  };
}
