// POST /tokens/leaked: whoever found a secret where it should not be revokes it; no Authorization needed.
import type { LeakedApiTokens, LeakReportReceipt } from '@api-tokens/client';
import type { Request, Response } from 'express';
import { provenanceOf } from '../http/auth.js';
import type { OperationDependencies } from './dependencies.js';

export function reportLeakedAPITokens({ tokens, leakReports }: OperationDependencies) {
  return async (
    req: Request<unknown, LeakReportReceipt, LeakedApiTokens>,
    res: Response<LeakReportReceipt>,
  ) => {
    const provenance = provenanceOf(req);
    await leakReports.recordReport(provenance.address);
    await tokens.revokeLeakedSecrets(req.body.tokens, req.body.source, provenance);
    // The same answer whatever the secrets were, so a report reveals nothing about them.
    res.status(202).json({ received: req.body.tokens.length });
  };
}
