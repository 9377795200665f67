// GET /tokens/self: the caller's own token, without its secret ("who am I"); an extension to Axiom's API.
import type { ApiToken } from '@api-tokens/client';
import type { Request, Response } from 'express';
import { callerOf } from '../http/auth.js';
import { presentToken } from '../tokens/service.js';
import type { OperationDependencies } from './dependencies.js';

export function getCurrentAPIToken(_deps: OperationDependencies) {
  // The caller was authenticated (and found live) for this very request: no second store read.
  return (_req: Request, res: Response<ApiToken>) => {
    res.status(200).json(presentToken(callerOf(res)));
  };
}
