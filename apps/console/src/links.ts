// The `cursor` of an RFC 8288 `Link: <…>; rel="next"` header: how the API pages its lists.

/** The next page's cursor, or undefined when the header has no rel="next" link (the last page). */
export function nextCursor(link: string | null | undefined): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (match === null) continue;
    const [, target = '', params = ''] = match;
    const rels = /;\s*rel="?([^";]+)"?/i.exec(params)?.[1]?.toLowerCase().split(/\s+/) ?? [];
    if (!rels.includes('next')) continue;
    const cursor = new URL(target, 'http://link.invalid').searchParams.get('cursor');
    if (cursor) return cursor;
  }
  return undefined;
}
