// GET /tokens/self: the caller's own token, without its secret ("who am I"); an extension to Axiom's API.
import type { ApiToken } from '@api-tokens/client';
import type { Request, Response } from 'express';
import { callerOf } from '../http/auth.js';
import type { OperationDependencies } from './dependencies.js';
import { presentToken } from './present.js';
import { inRequest } from './request.js';

export function getCurrentAPIToken({ tokens }: OperationDependencies) {
  // Read again rather than answered from the authenticated caller, which may come from the auth
  // cache: self answers exactly what getAPIToken answers, apiLastUsed included.
  return async (_req: Request, res: Response<ApiToken>) => {
    const token = await tokens.getCallerToken(callerOf(res)).catch(inRequest());
    res.status(200).json(presentToken(token));
  };
}
