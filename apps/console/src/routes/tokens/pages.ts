// One page of a list the API pages through `Link`: the generated SDK call and key, plus the next page's cursor.
import { queryOptions } from '@tanstack/react-query';
import { getApiTokensQueryKey, getAuditEventsQueryKey } from '../../generated/@tanstack/react-query.gen';
import { getApiTokens, getAuditEvents } from '../../generated/sdk.gen';
import type { GetApiTokensData, GetAuditEventsData } from '../../generated/types.gen';
import { nextCursor } from '../../links';

export const TOKENS_PAGE_SIZE = 20;
export const EVENTS_PAGE_SIZE = 50;

/**
 * The generated query options answer the body only; paging needs the `Link` header, so these call
 * the generated SDK function themselves, under the generated key.
 */
export function tokensPageOptions(query: NonNullable<GetApiTokensData['query']>) {
  return queryOptions({
    queryKey: getApiTokensQueryKey({ query }),
    queryFn: async ({ signal }) => {
      const { data, response } = await getApiTokens({ query, signal, throwOnError: true });
      return { items: data, next: nextCursor(response.headers.get('link')) };
    },
  });
}

export function auditPageOptions(query: NonNullable<GetAuditEventsData['query']>) {
  return queryOptions({
    queryKey: getAuditEventsQueryKey({ query }),
    queryFn: async ({ signal }) => {
      const { data, response } = await getAuditEvents({ query, signal, throwOnError: true });
      return { items: data, next: nextCursor(response.headers.get('link')) };
    },
  });
}
