// GET /tokens/{id}: one live token, without its secret.
import type { ApiToken, GetApiTokenData } from '@api-tokens/client';
import type { Request, Response } from 'express';
import type { OperationDependencies } from './dependencies.js';
import { presentToken } from './present.js';
import { inRequest } from './request.js';

export function getAPIToken({ tokens }: OperationDependencies) {
  return async (req: Request<GetApiTokenData['path']>, res: Response<ApiToken>) => {
    const token = await tokens.getToken(req.params.id).catch(inRequest(['id']));
    res.status(200).json(presentToken(token));
  };
}
