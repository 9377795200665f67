// reportLeakedAPITokens: whoever holds a leaked secret revokes it at once, with an audit event, and learns nothing else.
import { beforeEach, describe, expect, it } from 'vitest';
import { expectAnswer } from '../../test/contract.js';
import { createHarness, type Harness } from '../../test/harness.js';
import { generateSecret } from '../tokens/secrets.js';

let harness: Harness;
beforeEach(async () => {
  harness = await createHarness();
});

const report = (body: unknown) =>
  expectAnswer(harness.as(undefined).post('/tokens/leaked', body), 'post', '/tokens/leaked', 202);

describe('reportLeakedAPITokens', () => {
  it('revokes a live token at once, without Authorization, and records token.leaked with source and address', async () => {
    const leaked = await harness.tokens.createToken(harness.admin, { name: 'leaked', expiresAt: null });
    // Used once, so the authentication cache holds it: the revocation must reach the cache too.
    await harness.as(leaked.secret).get('/tokens/self').expect(200);
    const source = 'https://github.com/example/repo/commit/abc';
    const answer = await report({ tokens: [leaked.secret], source });
    expect(answer.body).toEqual({ received: 1 });

    await harness.as(leaked.secret).get('/tokens/self').expect(401);
    await harness.as(harness.adminSecret).get(`/tokens/${leaked.token.id}`).expect(404);
    const { events } = await harness.tokens.auditEvents({ limit: 10, type: 'token.leaked' });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'token.leaked',
      actor: null,
      target: { tokenId: leaked.token.id, name: 'leaked' },
      provenance: { address: expect.stringMatching(/127\.0\.0\.1/) },
      details: { source },
    });
    expect(JSON.stringify(events[0])).not.toContain(leaked.secret);
  });

  it('answers the same for live, revoked, unknown and malformed secrets, revoking only the live ones', async () => {
    const live = await harness.tokens.createToken(harness.admin, { name: 'live', expiresAt: null });
    const other = await harness.tokens.createToken(harness.admin, { name: 'other', expiresAt: null });
    const revoked = await harness.tokens.createToken(harness.admin, { name: 'revoked', expiresAt: null });
    await harness.tokens.deleteToken(revoked.token.id);
    const secrets = [live.secret, revoked.secret, generateSecret(), 'not a secret', live.secret];
    const answers = [];
    for (const secret of secrets) answers.push((await report({ tokens: [secret] })).body);
    expect(answers).toEqual(secrets.map(() => ({ received: 1 })));
    expect((await report({ tokens: secrets })).body).toEqual({ received: secrets.length });

    await harness.as(live.secret).get('/tokens/self').expect(401);
    await harness.as(other.secret).get('/tokens/self').expect(200);
    const { events } = await harness.tokens.auditEvents({ limit: 10, type: 'token.leaked' });
    expect(events.map((event) => event.target?.name)).toEqual(['live']);
    expect(events[0]?.details).toEqual({ source: null });
  });

  it('revokes a regenerated token still in its grace period, and not its replacement', async () => {
    const old = await harness.tokens.createToken(harness.admin, { name: 'rotated', expiresAt: null });
    const replacement = await harness.tokens.regenerateToken(harness.admin, old.token.id, {
      existingTokenExpiresAt: new Date(harness.clock().getTime() + 3_600_000),
    });
    await report({ tokens: [old.secret] });
    await harness.as(old.secret).get('/tokens/self').expect(401);
    await harness.as(replacement.secret).get('/tokens/self').expect(200);
  });

  it('revokes the bootstrap admin too: possession is the authority', async () => {
    await report({ tokens: [harness.adminSecret] });
    await harness.as(harness.adminSecret).get('/tokens/self').expect(401);
  });
});
