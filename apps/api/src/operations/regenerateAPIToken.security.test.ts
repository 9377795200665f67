// regenerateAPIToken, security: apiTokens:update is required, and nobody obtains a stronger token by rotating it.
import { beforeAll, describe, expect, it } from 'vitest';
import { expectAnswer } from '../../test/contract.js';
import { createHarness, type Harness } from '../../test/harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
});

const inFuture = (ms: number) => new Date(harness.clock().getTime() + ms).toISOString();

/** A message that starts with `text` exactly: the field path, `body.` prefix included, comes first. */
const startingWith = (text: string) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);

const regenerate = (
  secret: string | undefined,
  id: string,
  body: object,
  status: number,
  message?: string | RegExp,
) =>
  expectAnswer(
    harness.as(secret).post(`/tokens/${id}/regenerate`, body),
    'post',
    '/tokens/{id}/regenerate',
    status,
    message,
  );

describe('regenerateAPIToken security', () => {
  it('refuses an anonymous caller with 401', () =>
    regenerate(undefined, harness.admin.id, { existingTokenExpiresAt: inFuture(1000) }, 401));

  it('refuses a caller without apiTokens:update with 403', async () => {
    const { body: target } = await harness.createToken(harness.adminSecret, { name: 'target' });
    const secret = await harness.callerWith({ orgCapabilities: { apiTokens: ['create', 'read', 'delete'] } });
    await regenerate(
      secret,
      target.id,
      { existingTokenExpiresAt: inFuture(1000) },
      403,
      /apiTokens.*'update'/,
    );
  });

  it('refuses to rotate a token stronger than the caller, which would hand it the stronger secret', async () => {
    const secret = await harness.callerWith({ orgCapabilities: { apiTokens: ['update'] } });
    await regenerate(
      secret,
      harness.admin.id,
      { existingTokenExpiresAt: inFuture(1000) },
      403,
      // About the token the path names, not a body field: no `body.` prefix.
      /^id: cannot regenerate a token holding more than the caller: \w+Capabilities\.[^:]+: cannot grant '\w+', the caller does not hold it/,
    );
    // The admin token was not touched: no grace period was set on it.
    const admin = await harness.as(harness.adminSecret).get(`/tokens/${harness.admin.id}`);
    expect(admin.body.expiresAt).toBeNull();
  });

  it('refuses a newToken granting more than the caller holds, naming the field in newToken', async () => {
    const secret = await harness.callerWith({
      orgCapabilities: { apiTokens: ['update'] },
      datasetCapabilities: { logs: { query: ['read'] } },
    });
    const { body: target } = await harness.createToken(harness.adminSecret, {
      name: 'target',
      datasetCapabilities: { logs: { query: ['read'] } },
    });
    await regenerate(
      secret,
      target.id,
      {
        existingTokenExpiresAt: inFuture(1000),
        newToken: { name: 'wider', datasetCapabilities: { '*': { query: ['read'] } } },
      },
      403,
      startingWith(
        `body.newToken.datasetCapabilities["*"].query: cannot grant 'read', the caller does not hold it on '*'`,
      ),
    );
    await regenerate(
      secret,
      target.id,
      {
        existingTokenExpiresAt: inFuture(1000),
        newToken: { name: 'same', datasetCapabilities: { logs: { query: ['read'] } } },
      },
      200,
    );
  });

  it('leaves one consistent state when regenerates and deletes of one token race: one replacement at most, no 5xx', async () => {
    for (let round = 0; round < 5; round++) {
      const { body: target } = await harness.createToken(harness.adminSecret, { name: `raced-${round}` });
      const body = { existingTokenExpiresAt: inFuture(60_000) };
      // Six regenerates and one delete, started in an order that changes each round.
      const kinds = ['delete', ...Array.from({ length: 6 }, () => 'regenerate')];
      if (round % 2 === 0) kinds.reverse();
      const answers = await Promise.all(
        kinds.map((kind) =>
          kind === 'delete'
            ? harness.as(harness.adminSecret).delete(`/tokens/${target.id}`)
            : harness.as(harness.adminSecret).post(`/tokens/${target.id}/regenerate`, body),
        ),
      );
      const regenerates = answers.filter((_, index) => kinds[index] === 'regenerate');
      for (const answer of answers) expect([200, 204, 404, 409]).toContain(answer.status);
      const replaced = regenerates.filter((answer) => answer.status === 200);
      expect(replaced.length).toBeLessThanOrEqual(1);
      const listed = (await harness.as(harness.adminSecret).get('/tokens')).body as {
        id: string;
        name: string;
      }[];
      expect(
        listed.filter((token) => token.name === `raced-${round}` && token.id !== target.id),
      ).toHaveLength(replaced.length);
    }
  });
});

describe('regenerateAPIToken authority and lifetime', () => {
  it('refuses apiTokens:update alone revoking a stronger token, even with a weak newToken', async () => {
    const secret = await harness.callerWith({ orgCapabilities: { apiTokens: ['create', 'update', 'read'] } });
    await regenerate(
      secret,
      harness.admin.id,
      { existingTokenExpiresAt: '2020-01-01T00:00:00Z', newToken: { name: 'weak' } },
      403,
      /^id: cannot regenerate a token holding more than the caller/,
    );
    await expectAnswer(harness.as(harness.adminSecret).get('/tokens'), 'get', '/tokens', 200);
  });

  it('refuses an expiring caller a replacement that outlives it, including Go\'s "never"', async () => {
    const expiresAt = inFuture(60_000);
    const secret = await harness.callerWith(
      { orgCapabilities: { apiTokens: ['create', 'update', 'read'] } },
      { expiresAt },
    );
    const { body: target } = await harness.createToken(secret, { name: 'mine', expiresAt });
    for (const newTokenExpiresAt of [null, '0001-01-01T00:00:00Z', inFuture(120_000)]) {
      await regenerate(
        secret,
        target.id,
        { existingTokenExpiresAt: inFuture(1000), newTokenExpiresAt },
        403,
        startingWith(
          `body.newTokenExpiresAt: cannot outlive the caller's token, which expires at ${expiresAt}`,
        ),
      );
    }
    await regenerate(secret, target.id, { existingTokenExpiresAt: inFuture(1000) }, 200); // inherits its own expiry
  });

  it('refuses a regenerate whose caller was revoked after authenticating', async () => {
    const caller = await harness.tokens.authenticate(
      await harness.callerWith({ orgCapabilities: { apiTokens: ['update', 'read'] } }),
    );
    const { body: target } = await harness.createToken(harness.adminSecret, { name: 'target' });
    await harness.tokens.deleteToken((caller as NonNullable<typeof caller>).id);
    await expect(
      harness.tokens.regenerateToken(caller as NonNullable<typeof caller>, target.id, {
        existingTokenExpiresAt: new Date(inFuture(1000)),
      }),
    ).rejects.toMatchObject({
      kind: 'unauthenticated',
      message: expect.stringContaining('before the request completed'),
    });
    const unchanged = await harness.as(harness.adminSecret).get(`/tokens/${target.id}`);
    expect(unchanged.body.expiresAt).toBeNull();
  });

  it('refuses a replacement outliving the caller when the caller was regenerated after authenticating', async () => {
    const secret = await harness.callerWith({ orgCapabilities: { apiTokens: ['create', 'update', 'read'] } });
    const caller = await harness.tokens.authenticate(secret);
    expect(caller?.expiresAt).toBeNull();
    const { body: target } = await harness.createToken(secret, { name: 'never expires' });
    const graceEnd = inFuture(60 * 60_000);
    await regenerate(
      harness.adminSecret,
      (caller as NonNullable<typeof caller>).id,
      { existingTokenExpiresAt: graceEnd },
      200,
    );
    // The stale caller copies the target's "never": the old rule, checked as authenticated, let it through.
    await expect(
      harness.tokens.regenerateToken(caller as NonNullable<typeof caller>, target.id, {
        existingTokenExpiresAt: new Date(inFuture(1000)),
      }),
    ).rejects.toMatchObject({
      kind: 'forbidden',
      message: `newTokenExpiresAt: cannot outlive the caller's token, which expires at ${graceEnd}`,
    });
    await expect(
      harness.tokens.regenerateToken(caller as NonNullable<typeof caller>, target.id, {
        existingTokenExpiresAt: new Date(inFuture(1000)),
        newToken: { name: 'replacement', expiresAt: null },
      }),
    ).rejects.toMatchObject({
      kind: 'forbidden',
      message: `newToken.expiresAt: cannot outlive the caller's token, which expires at ${graceEnd}`,
    });
    // Refused at commit, so nothing changed: the target was not cut to a grace period.
    const unchanged = await harness.as(harness.adminSecret).get(`/tokens/${target.id}`);
    expect(unchanged.body.expiresAt).toBeNull();
  });

  it('lets a caller regenerate itself: its own replacement may outlive the grace period it sets', async () => {
    const secret = await harness.callerWith({ orgCapabilities: { apiTokens: ['update', 'read'] } });
    const caller = await harness.tokens.authenticate(secret);
    const { body: replacement } = await regenerate(
      secret,
      (caller as NonNullable<typeof caller>).id,
      { existingTokenExpiresAt: inFuture(1000) },
      200,
    );
    expect(replacement.expiresAt).toBeNull();
  });
});
