// POST /tokens/{id}/regenerate: a replacement with a new secret; the old one lives on for a grace period.
import type { CreateApiTokenResponse, RegenerateApiToken, RegenerateApiTokenData } from '@api-tokens/client';
import type { Request, Response } from 'express';
import { callerOf } from '../http/auth.js';
import type { OperationDependencies } from './dependencies.js';

export function regenerateAPIToken({ tokens }: OperationDependencies) {
  return async (
    req: Request<RegenerateApiTokenData['path'], CreateApiTokenResponse, RegenerateApiToken>,
    res: Response<CreateApiTokenResponse>,
  ) => {
    res.status(200).json(await tokens.regenerateToken(callerOf(res), req.params.id, req.body));
  };
}
