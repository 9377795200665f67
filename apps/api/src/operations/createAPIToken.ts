// POST /tokens: create a token no stronger than its caller; the answer carries the secret, once.
import type { CreateApiToken, CreateApiTokenResponse } from '@api-tokens/client';
import type { Request, Response } from 'express';
import type { OperationDependencies } from './index.js';

export function createAPIToken({ tokens }: OperationDependencies) {
  return async (
    req: Request<unknown, CreateApiTokenResponse, CreateApiToken>,
    res: Response<CreateApiTokenResponse>,
  ) => {
    // `authenticate` ran first on every API route, so the caller is set.
    const caller = res.locals.caller as NonNullable<typeof res.locals.caller>;
    res.status(200).json(await tokens.createToken(caller, req.body));
  };
}
