// GET /tokens/policy: the limits the server sets on new tokens (MAX_TOKEN_LIFETIME), so a console or CLI offers only what is accepted.
import type { TokenPolicy } from '@api-tokens/client';
import type { Request, Response } from 'express';
import type { OperationDependencies } from './dependencies.js';

export function getAPITokenPolicy({ tokens }: OperationDependencies) {
  return (_req: Request, res: Response<TokenPolicy>) => {
    const { maxLifetimeMs } = tokens.policy;
    // MAX_TOKEN_LIFETIME is read in whole seconds at least (the duration grammar's smallest unit).
    res.status(200).json({
      maxLifetimeSeconds: maxLifetimeMs === undefined ? null : Math.floor(maxLifetimeMs / 1000),
    });
  };
}
