// POST /tokens: create a token no stronger than its caller; the answer carries the secret, once.
import type { CreateApiToken, CreateApiTokenResponse } from '@api-tokens/client';
import type { Request, Response } from 'express';
import { callerOf, provenanceOf } from '../http/auth.js';
import type { OperationDependencies } from './dependencies.js';
import { presentIssuedToken } from './present.js';
import { inRequest, readTokenRequest } from './request.js';

export function createAPIToken({ tokens }: OperationDependencies) {
  return async (
    req: Request<unknown, CreateApiTokenResponse, CreateApiToken>,
    res: Response<CreateApiTokenResponse>,
  ) => {
    const issued = await tokens
      .createToken(callerOf(res), readTokenRequest('body', req.body), provenanceOf(req))
      .catch(inRequest());
    res.status(200).json(presentIssuedToken(issued));
  };
}
