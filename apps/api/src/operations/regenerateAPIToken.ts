// POST /tokens/{id}/regenerate: a replacement with a new secret; the old one lives on for a grace period.
import type { CreateApiTokenResponse, RegenerateApiToken, RegenerateApiTokenData } from '@api-tokens/client';
import type { Request, Response } from 'express';
import { callerOf, provenanceOf } from '../http/auth.js';
import type { Rotation } from '../tokens/service.js';
import type { OperationDependencies } from './dependencies.js';
import { presentIssuedToken } from './present.js';
import { inRequest, readDate, readExpiry, readTokenRequest } from './request.js';

function readRotation(body: RegenerateApiToken): Rotation {
  return {
    existingTokenExpiresAt: readDate('body.existingTokenExpiresAt', body.existingTokenExpiresAt),
    newToken: body.newToken == null ? undefined : readTokenRequest('body.newToken', body.newToken),
    newTokenExpiresAt:
      body.newTokenExpiresAt === undefined
        ? undefined
        : readExpiry('body.newTokenExpiresAt', body.newTokenExpiresAt),
  };
}

export function regenerateAPIToken({ tokens }: OperationDependencies) {
  return async (
    req: Request<RegenerateApiTokenData['path'], CreateApiTokenResponse, RegenerateApiToken>,
    res: Response<CreateApiTokenResponse>,
  ) => {
    const issued = await tokens
      .regenerateToken(callerOf(res), req.params.id, readRotation(req.body), provenanceOf(req))
      .catch(inRequest(['id']));
    res.status(200).json(presentIssuedToken(issued));
  };
}
