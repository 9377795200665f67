// getAPITokens, happy paths: every live token, oldest first, as created; pages that add up to the whole.
import { createHash } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { expectAnswer } from '../../test/contract.js';
import { createHarness, type Harness } from '../../test/harness.js';

let harness: Harness;
beforeEach(async () => {
  harness = await createHarness();
});

const list = (query = '') =>
  expectAnswer(harness.as(harness.adminSecret).get(`/tokens${query}`), 'get', '/tokens', 200);

async function createTokens(count: number) {
  const created = [];
  for (let i = 0; i < count; i++) {
    // Distinct creation times, after the bootstrap token's; same-millisecond ties are ordered by id, tested below.
    harness.clock.advance(1);
    const { body } = await harness.createToken(harness.adminSecret, {
      name: `token-${i}`,
      datasetCapabilities: { [`ds-${i}`]: { query: ['read'] } },
    });
    const { token: _secret, ...withoutSecret } = body;
    created.push(withoutSecret);
  }
  return created;
}

describe('getAPITokens', () => {
  it('answers every token, oldest first, each exactly as created less its secret', async () => {
    const created = await createTokens(3);
    const answer = await list();
    expect(answer.body.map((token: { id: string }) => token.id)).toEqual([
      harness.admin.id,
      ...created.map((t) => t.id),
    ]);
    expect(answer.body.slice(1)).toStrictEqual(created);
    expect(answer.headers.link).toBeUndefined();
    for (const token of answer.body) expect(token).not.toHaveProperty('token');
  });

  it('leaves out expired and deleted tokens', async () => {
    const [kept, deleted] = await createTokens(2);
    await harness.createToken(harness.adminSecret, {
      name: 'expiring',
      expiresAt: new Date(harness.clock().getTime() + 10).toISOString(),
    });
    await harness.as(harness.adminSecret).delete(`/tokens/${deleted?.id}`).expect(204);
    harness.clock.advance(10);
    const ids = (await list()).body.map((token: { id: string }) => token.id);
    expect(ids).toEqual([harness.admin.id, kept?.id]);
  });

  it('pages with limit and a Link to the next page, adding up to the whole list', async () => {
    await createTokens(6);
    const whole = (await list()).body;
    const pages = [];
    let query = '?limit=3';
    for (let guard = 0; guard < 10; guard++) {
      const answer = await list(query);
      expect(answer.body.length).toBeLessThanOrEqual(3);
      pages.push(...answer.body);
      const link = answer.headers.link;
      if (link === undefined) break;
      const match = /^<\/v2\/tokens(\?limit=3&cursor=[A-Za-z0-9_-]+)>; rel="next"$/.exec(link);
      expect(match, link).not.toBeNull();
      query = match?.[1] as string;
    }
    expect(pages).toStrictEqual(whole);
  });

  it('orders tokens created in the same millisecond by id, so pages never skip or repeat one', async () => {
    for (let i = 0; i < 5; i++) await harness.createToken(harness.adminSecret, { name: `same-ms-${i}` });
    const whole = (await list()).body;
    const first = await list('?limit=2');
    const cursor = /cursor=([^>]+)>/.exec(first.headers.link ?? '')?.[1];
    const rest = (await list(`?cursor=${cursor}`)).body;
    expect([...first.body, ...rest]).toStrictEqual(whole);
  });

  it('gives no Link when the page holds the last token', async () => {
    await createTokens(1);
    const answer = await list('?limit=2');
    expect(answer.body).toHaveLength(2);
    expect(answer.headers.link).toBeUndefined();
  });
});

describe('getAPITokens while tokens are being created', () => {
  it('never skips a token committed after a page was read, even with a clock that stepped back', async () => {
    await createTokens(2);
    const first = await list('?limit=2');
    const cursor = /cursor=([^>]+)>/.exec(first.headers.link ?? '')?.[1];
    expect(cursor).toBeDefined();
    harness.clock.advance(-60_000); // NTP stepped the clock back
    const { body: late } = await harness.createToken(harness.adminSecret, { name: 'committed late' });
    const rest = (await list(`?cursor=${cursor}`)).body.map((token: { id: string }) => token.id);
    expect(rest).toContain(late.id);
    const whole = (await list()).body.map((token: { id: string }) => token.id);
    expect([...first.body.map((token: { id: string }) => token.id), ...rest]).toEqual(whole);
  });
});

describe('getAPITokens without limit on a large store', () => {
  it('streams every token across internal pages as one valid array, in storage order', async () => {
    const count = 2_500; // more than two of the pages the answer is streamed in
    await Promise.all(
      Array.from({ length: count }, (_, i) =>
        harness.store.insert(
          {
            id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
            name: `bulk-${i}`,
            description: '',
            expiresAt: null,
            createdAt: harness.clock(),
            datasetCapabilities: {},
            orgCapabilities: {},
            viewCapabilities: {},
            lastUsedAt: null,
            replacedBy: null,
            allowedCidrs: [],
            notBefore: null,
          },
          createHash('sha256').update(`bulk-${i}`).digest(),
        ),
      ),
    );
    const answer = await list();
    expect(answer.body).toHaveLength(count + 1);
    expect(answer.body.slice(1).map((token: { name: string }) => token.name)).toEqual(
      Array.from({ length: count }, (_, i) => `bulk-${i}`),
    );
    expect(new Set(answer.body.map((token: { id: string }) => token.id)).size).toBe(count + 1);
  });
});
