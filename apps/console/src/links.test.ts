import { describe, expect, it } from 'vitest';
import { nextCursor } from './links';

describe('nextCursor', () => {
  it('reads the cursor of the rel="next" link, as the API writes it', () => {
    expect(nextCursor('</v2/tokens?limit=20&cursor=abc_DEF-1>; rel="next"')).toBe('abc_DEF-1');
  });

  it('finds rel="next" among other links and relation types', () => {
    expect(nextCursor('</v2/x?cursor=a>; rel="prev", </v2/x?cursor=b>; rel="last next"')).toBe('b');
  });

  it('is undefined on the last page', () => {
    expect(nextCursor(null)).toBeUndefined();
    expect(nextCursor('')).toBeUndefined();
    expect(nextCursor('</v2/x?cursor=a>; rel="prev"')).toBeUndefined();
  });
});
