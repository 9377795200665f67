// GET /tokens: live tokens, oldest first; with `limit`, a page and an RFC 8288 Link to the next one.
import type { ApiToken, GetApiTokensData } from '@api-tokens/client';
import type { Request, Response } from 'express';
import type { OperationDependencies } from './index.js';

type Query = NonNullable<GetApiTokensData['query']>;

export function getAPITokens({ tokens }: OperationDependencies) {
  return async (
    req: Request<unknown, ApiToken[], unknown, Record<keyof Query, string | undefined>>,
    res: Response,
  ) => {
    // The validator has checked both against the spec; the query string still holds them as text.
    const limit = req.query.limit === undefined ? undefined : Number(req.query.limit);
    const page = await tokens.listTokens({ limit, cursor: req.query.cursor });
    if (limit !== undefined && page.nextCursor !== undefined) {
      const next = new URLSearchParams({ limit: String(limit), cursor: page.nextCursor });
      res.set('Link', `<${req.baseUrl}${req.path}?${next}>; rel="next"`);
    }
    res.status(200).json(page.tokens);
  };
}
