// DELETE /tokens/{id}: the token stops authenticating at once.
import type { DeleteApiTokenData } from '@api-tokens/client';
import type { Request, Response } from 'express';
import type { OperationDependencies } from './dependencies.js';
import { inRequest } from './request.js';

export function deleteAPIToken({ tokens }: OperationDependencies) {
  return async (req: Request<DeleteApiTokenData['path']>, res: Response) => {
    await tokens.deleteToken(req.params.id).catch(inRequest(['id']));
    res.status(204).end();
  };
}
