// deleteAPIToken, security: only callers holding apiTokens:delete may delete, themselves included, and no caller may end a token holding more than it does.
import { beforeAll, describe, expect, it } from 'vitest';
import { expectAnswer } from '../../test/contract.js';
import { createHarness, type Harness } from '../../test/harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
});

const remove = (secret: string | undefined, id: string, status: number, message?: string | RegExp) =>
  expectAnswer(harness.as(secret).delete(`/tokens/${id}`), 'delete', '/tokens/{id}', status, message);

describe('deleteAPIToken security', () => {
  it('refuses an anonymous caller with 401', () => remove(undefined, harness.admin.id, 401, 'Authorization'));

  it('refuses a caller without apiTokens:delete with 403, and the target survives', async () => {
    const { body: target } = await harness.createToken(harness.adminSecret, { name: 'target' });
    const secret = await harness.callerWith({ orgCapabilities: { apiTokens: ['create', 'read', 'update'] } });
    await remove(secret, target.id, 403, /apiTokens.*'delete'/);
    await expectAnswer(
      harness.as(harness.adminSecret).get(`/tokens/${target.id}`),
      'get',
      '/tokens/{id}',
      200,
    );
  });

  it('refuses a token without apiTokens:delete deleting itself', async () => {
    const { body } = await harness.createToken(harness.adminSecret, {
      name: 'cannot-delete',
      orgCapabilities: { apiTokens: ['read'] },
    });
    await remove(body.token, body.id, 403, /apiTokens.*'delete'/);
    await expectAnswer(harness.as(body.token).get(`/tokens/${body.id}`), 'get', '/tokens/{id}', 200);
  });

  describe('no escalation: deleting ends a token, so the caller must hold everything it holds', () => {
    const cleanupBot = () => harness.callerWith({ orgCapabilities: { apiTokens: ['delete'] } });
    const self = (secret: string, status: number) =>
      expectAnswer(harness.as(secret).get('/tokens/self'), 'get', '/tokens/self', status);

    it('refuses a token holding only apiTokens:delete deleting the bootstrap admin with 403, and the admin keeps working', async () => {
      const bot = await cleanupBot();
      await remove(
        bot,
        harness.admin.id,
        403,
        // About the token the path names, as regenerate's refusal: no `body.` prefix.
        /^id: cannot delete a token holding more than the caller: \w+Capabilities\.[^:]+: cannot grant '\w+', the caller does not hold it/,
      );
      await self(harness.adminSecret, 200);
      const events = await harness
        .as(harness.adminSecret)
        .get(`/audit/events?type=token.deleted&tokenId=${harness.admin.id}`);
      expect(events.status).toBe(200);
      expect(events.body).toEqual([]);
    });

    it('names the first capability the caller lacks, a dataset capability included', async () => {
      const secret = await harness.callerWith({
        orgCapabilities: { apiTokens: ['delete'] },
        datasetCapabilities: { logs: { query: ['read'] } },
      });
      const { body: target } = await harness.createToken(harness.adminSecret, {
        name: 'stronger-on-logs',
        datasetCapabilities: { logs: { query: ['read'], ingest: ['create'] } },
      });
      await remove(
        secret,
        target.id,
        403,
        "id: cannot delete a token holding more than the caller: datasetCapabilities.logs.ingest: cannot grant 'create', the caller does not hold it on this name or on '*'",
      );
      await self(target.token, 200);
    });

    it('lets a token holding only apiTokens:delete delete itself: its secret stops working', async () => {
      const bot = await cleanupBot();
      const { body: me } = await harness.as(bot).get('/tokens/self');
      await remove(bot, me.id, 204);
      await self(bot, 401);
    });

    it('lets a token holding only apiTokens:delete delete a token it covers', async () => {
      const bot = await cleanupBot();
      const { body: covered } = await harness.createToken(harness.adminSecret, {
        name: 'covered',
        orgCapabilities: { apiTokens: ['delete'] },
      });
      const { body: empty } = await harness.createToken(harness.adminSecret, { name: 'holds-nothing' });
      await remove(bot, covered.id, 204);
      await remove(bot, empty.id, 204);
      await self(covered.token, 401);
      await self(empty.token, 401);
      await self(bot, 200);
    });
  });
});
