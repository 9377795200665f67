// GET /tokens: live tokens in storage order; with `limit`, a page and an RFC 8288 Link to the next one.
import type { ApiToken, GetApiTokensData } from '@api-tokens/client';
import type { Request, Response } from 'express';
import { streamJsonArray } from '../http/streamJson.js';
import type { TokenRecord } from '../model.js';
import type { OperationDependencies } from './dependencies.js';
import { presentToken } from './present.js';
import { decodeCursor, linkNextPage, readLimit } from './request.js';

type Query = NonNullable<GetApiTokensData['query']>;

async function* presentPages(pages: AsyncIterable<TokenRecord[]>): AsyncGenerator<ApiToken[]> {
  for await (const page of pages) yield page.map(presentToken);
}

export function getAPITokens({ tokens }: OperationDependencies) {
  return async (
    req: Request<unknown, ApiToken[], unknown, Record<keyof Query, string | undefined>>,
    res: Response,
  ) => {
    const limit = readLimit(req.query.limit);
    const after = req.query.cursor === undefined ? undefined : decodeCursor(req.query.cursor);
    if (limit === undefined) {
      // Everything, as Axiom's clients expect: streamed, so a large store cannot exhaust memory.
      await streamJsonArray(res, presentPages(tokens.pagesOfTokens(after)));
      return;
    }
    const page = await tokens.listTokens({ limit, after });
    if (page.next !== undefined) linkNextPage(req, res, { limit, next: page.next });
    res.status(200).json(page.tokens.map(presentToken));
  };
}
