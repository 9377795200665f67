// DELETE /tokens/{id}: the token stops authenticating at once.
import type { DeleteApiTokenData } from '@api-tokens/client';
import type { Request, Response } from 'express';
import { callerOf, provenanceOf } from '../http/auth.js';
import type { OperationDependencies } from './dependencies.js';
import { inRequest } from './request.js';

export function deleteAPIToken({ tokens }: OperationDependencies) {
  return async (req: Request<DeleteApiTokenData['path']>, res: Response) => {
    await tokens
      .deleteToken(req.params.id, { caller: callerOf(res), provenance: provenanceOf(req) })
      .catch(inRequest(['id']));
    res.status(204).end();
  };
}
