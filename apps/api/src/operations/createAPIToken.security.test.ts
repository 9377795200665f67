// createAPIToken, security: who may create, and that nobody can grant more than they hold.
import { once } from 'node:events';
import { type AddressInfo, connect } from 'node:net';
import supertest from 'supertest';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { expectAnswer } from '../../test/contract.js';
import { catalog, createHarness, type Harness, NAMES, scopedCapabilities } from '../../test/harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
});

const CREATE_TOKENS = { apiTokens: ['create' as const] };

const expectStatus = (request: PromiseLike<supertest.Response>, status: number, message?: string | RegExp) =>
  expectAnswer(request, 'post', '/tokens', status, message);

/** A message that starts with `text` exactly: the field path, `body.` prefix included, comes first. */
const startingWith = (text: string) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);

describe('createAPIToken authentication', () => {
  const withAuthorization = (value: string) =>
    supertest(harness.app).post('/v2/tokens').set('Authorization', value).send({ name: 'x' });

  it('refuses a request without a token, asking for Bearer', async () => {
    const answer = await expectStatus(harness.createToken(undefined, { name: 'x' }), 401, 'Authorization');
    expect(answer.headers['www-authenticate']).toBe('Bearer realm="api-tokens"');
  });

  it.each([
    ['another scheme', () => `Basic ${Buffer.from('user:pass').toString('base64')}`],
    ['a scheme without a token', () => 'Bearer'],
    ['a token with inner spaces', () => `Bearer ${harness.adminSecret} extra`],
    ['a bare token without scheme', () => harness.adminSecret],
    ['an empty header', () => ' '],
  ])('refuses a malformed Authorization header: %s', async (_, header) => {
    const answer = await expectStatus(withAuthorization(header()), 401, 'Authorization');
    expect(answer.headers['www-authenticate']).toMatch(/^Bearer /);
  });

  it('refuses an unknown token, saying it was invalid', async () => {
    const answer = await expectStatus(withAuthorization(`Bearer xaat-${'A'.repeat(43)}`), 401, 'unknown');
    expect(answer.headers['www-authenticate']).toBe('Bearer realm="api-tokens", error="invalid_token"');
  });

  it('refuses a token whose expiry has passed, and accepts it until then', async () => {
    const expiresAt = new Date(harness.clock().getTime() + 60_000).toISOString();
    const secret = await harness.callerWith({ orgCapabilities: CREATE_TOKENS }, { expiresAt });
    await expectStatus(harness.createToken(secret, { name: 'before expiry', expiresAt }), 200);
    harness.clock.advance(60_000);
    await expectStatus(harness.createToken(secret, { name: 'at expiry' }), 401, 'expired');
  });

  it('treats the scheme name case-insensitively', () =>
    expectStatus(withAuthorization(`bEaReR ${harness.adminSecret}`), 200));

  it('authenticates before it reads the body: an anonymous bad body is 401, not 400', () =>
    expectStatus(harness.createToken(undefined, { nonsense: true }), 401));

  it('never echoes the secret it was sent', async () => {
    const sent = `xaat-${'Z'.repeat(43)}`;
    const answer = await withAuthorization(`Bearer ${sent}`);
    expect(JSON.stringify(answer.body)).not.toContain(sent);
  });
});

describe('createAPIToken authorization', () => {
  it('refuses a caller without apiTokens:create, naming what is missing', async () => {
    const secret = await harness.callerWith({ orgCapabilities: { apiTokens: ['read', 'update', 'delete'] } });
    await expectStatus(
      harness.createToken(secret, { name: 'x' }),
      403,
      /orgCapabilities\.apiTokens.*'create'/,
    );
  });

  it('refuses a caller with no capabilities at all, before looking at the body', async () => {
    const secret = await harness.callerWith({});
    await expectStatus(harness.createToken(secret, { nonsense: true }), 403, 'apiTokens');
  });

  it('lets a caller with apiTokens:create create a token with no capabilities', async () => {
    const secret = await harness.callerWith({ orgCapabilities: CREATE_TOKENS });
    await expectStatus(harness.createToken(secret, { name: 'empty' }), 200);
  });

  it('lets a caller grant what it holds, and the new token is bound by it in turn', async () => {
    const secret = await harness.callerWith({
      orgCapabilities: { apiTokens: ['create'], dashboards: ['read', 'update'] },
      datasetCapabilities: { logs: { query: ['read'], ingest: ['create'] } },
    });
    const narrower = await expectStatus(
      harness.createToken(secret, {
        name: 'narrower',
        orgCapabilities: { apiTokens: ['create'], dashboards: ['read'] },
        datasetCapabilities: { logs: { query: ['read'] } },
      }),
      200,
    );
    await expectStatus(
      harness.createToken(narrower.body.token, {
        name: 'wider',
        orgCapabilities: { dashboards: ['update'] },
      }),
      403,
      startingWith("body.orgCapabilities.dashboards: cannot grant 'update', the caller does not hold it"),
    );
  });

  describe.each([...catalog.org])('orgCapabilities.%s', (capability, actions) => {
    // Lacking apiTokens:create is the operation's own requirement, covered above.
    const grantable = actions.filter((action) => !(capability === 'apiTokens' && action === 'create'));
    it.each(grantable)('refuses to grant %s to a caller who lacks it', async (action) => {
      const others = actions.filter((other) => other !== action);
      const held = capability === 'apiTokens' ? ['create' as const, ...others] : others;
      const secret = await harness.callerWith({
        orgCapabilities: { ...CREATE_TOKENS, [capability]: [...new Set(held)] },
      });
      await expectStatus(
        harness.createToken(secret, { name: 'escalate', orgCapabilities: { [capability]: [action] } }),
        403,
        startingWith(
          `body.orgCapabilities.${capability}: cannot grant '${action}', the caller does not hold it`,
        ),
      );
    });
  });

  describe.each(scopedCapabilities)('%s.<name>.%s', (field, capability, actions) => {
    it.each([...actions])('refuses %s on a name the caller holds it only on another name', async (action) => {
      const secret = await harness.callerWith({
        orgCapabilities: CREATE_TOKENS,
        [field]: { mine: { [capability]: [action] } },
      });
      await expectStatus(
        harness.createToken(secret, { name: 'x', [field]: { mine: { [capability]: [action] } } }),
        200,
      );
      await expectStatus(
        harness.createToken(secret, { name: 'x', [field]: { theirs: { [capability]: [action] } } }),
        403,
        startingWith(
          `body.${field}.theirs.${capability}: cannot grant '${action}', the caller does not hold it on this name or on '*'`,
        ),
      );
    });

    it.each([...actions])('refuses %s on * to a caller who holds it only on named ones', async (action) => {
      const secret = await harness.callerWith({
        orgCapabilities: CREATE_TOKENS,
        [field]: { a: { [capability]: [action] }, b: { [capability]: [action] } },
      });
      await expectStatus(
        harness.createToken(secret, { name: 'x', [field]: { '*': { [capability]: [action] } } }),
        403,
        startingWith(
          `body.${field}["*"].${capability}: cannot grant '${action}', the caller does not hold it on '*'`,
        ),
      );
    });

    it.each([...actions])('lets a caller holding %s on * grant it on any name and on *', async (action) => {
      const secret = await harness.callerWith({
        orgCapabilities: CREATE_TOKENS,
        [field]: { '*': { [capability]: [action] } },
      });
      await expectStatus(
        harness.createToken(secret, {
          name: 'x',
          [field]: { [NAMES[field]]: { [capability]: [action] }, '*': { [capability]: [action] } },
        }),
        200,
      );
    });
  });

  it('refuses one action beyond what is held on the same dataset capability', async () => {
    const secret = await harness.callerWith({
      orgCapabilities: CREATE_TOKENS,
      datasetCapabilities: { logs: { starredQueries: ['read'] } },
    });
    await expectStatus(
      harness.createToken(secret, {
        name: 'x',
        datasetCapabilities: { logs: { starredQueries: ['read', 'update'] } },
      }),
      403,
      startingWith("body.datasetCapabilities.logs.starredQueries: cannot grant 'update'"),
    );
  });
});

describe('createAPIToken lifetime', () => {
  it('lets an expiring token issue tokens that expire no later than itself, and no others', async () => {
    const expiresAt = new Date(harness.clock().getTime() + 60_000);
    const secret = await harness.callerWith(
      { orgCapabilities: CREATE_TOKENS },
      { expiresAt: expiresAt.toISOString() },
    );
    const later = new Date(expiresAt.getTime() + 1).toISOString();
    const earlier = new Date(expiresAt.getTime() - 1).toISOString();
    await expectStatus(
      harness.createToken(secret, { name: 'same', expiresAt: expiresAt.toISOString() }),
      200,
    );
    await expectStatus(harness.createToken(secret, { name: 'earlier', expiresAt: earlier }), 200);
    await expectStatus(
      harness.createToken(secret, { name: 'later', expiresAt: later }),
      403,
      startingWith(
        `body.expiresAt: cannot outlive the caller's token, which expires at ${expiresAt.toISOString()}`,
      ),
    );
    const outlives = startingWith('body.expiresAt: cannot outlive');
    await expectStatus(harness.createToken(secret, { name: 'never' }), 403, outlives);
    await expectStatus(harness.createToken(secret, { name: 'null', expiresAt: null }), 403, outlives);
    await expectStatus(
      harness.createToken(secret, { name: 'go zero time', expiresAt: '0001-01-01T00:00:00Z' }),
      403,
      outlives,
    );
  });
});

describe('a token revoked while its request is in flight', () => {
  it('grants nothing: the create is refused with 401 once the body arrives', async () => {
    const { body: caller } = await harness.createToken(harness.adminSecret, {
      name: 'revoked mid-request',
      orgCapabilities: { apiTokens: ['create', 'read'] },
    });
    const server = harness.app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const body = JSON.stringify({ name: 'issued by a revoked token' });
      const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
      await once(socket, 'connect');
      let raw = '';
      socket.on('data', (chunk) => {
        raw += chunk;
      });
      const closed = once(socket, 'close');
      const authenticating = vi.spyOn(harness.tokens, 'authenticate');
      socket.write(
        `POST /v2/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${caller.token}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 5)}`,
      );
      // Authenticated (the event), and then waiting for the rest of its body.
      try {
        // settledResults holds an 'incomplete' entry from the call on, until the promise settles.
        await vi.waitFor(
          () =>
            expect(authenticating.mock.settledResults).toMatchObject([
              { type: 'fulfilled', value: { id: caller.id } },
            ]),
          { timeout: 5000 },
        );
      } finally {
        authenticating.mockRestore();
      }
      await harness.as(harness.adminSecret).delete(`/tokens/${caller.id}`).expect(204);
      socket.write(body.slice(5));
      await closed;
      expect(raw).toMatch(/^HTTP\/1\.1 401 /);
      expect(raw).toContain('revoked or expired before the request completed');
      const names = (await harness.as(harness.adminSecret).get('/tokens')).body.map(
        (t: { name: string }) => t.name,
      );
      expect(names).not.toContain('issued by a revoked token');
    } finally {
      server.close();
    }
  });
});

describe('a caller regenerated while its request is in flight', () => {
  it('cannot create a token outliving its new expiry, judged at commit and not as authenticated', async () => {
    const secret = await harness.callerWith({ orgCapabilities: { apiTokens: ['create', 'read'] } });
    // Authenticated while it still never expired; its request is now "in flight".
    const caller = await harness.tokens.authenticate(secret);
    expect(caller?.expiresAt).toBeNull();
    const graceEnd = new Date(harness.clock().getTime() + 60 * 60_000);
    await expectAnswer(
      harness.as(harness.adminSecret).post(`/tokens/${caller?.id}/regenerate`, {
        existingTokenExpiresAt: graceEnd.toISOString(),
      }),
      'post',
      '/tokens/{id}/regenerate',
      200,
    );
    const before = await harness.store.count();
    for (const expiresAt of [null, new Date(graceEnd.getTime() + 1)]) {
      await expect(
        harness.tokens.createToken(caller as NonNullable<typeof caller>, { name: 'outlives', expiresAt }),
      ).rejects.toMatchObject({
        kind: 'forbidden',
        message: `expiresAt: cannot outlive the caller's token, which expires at ${graceEnd.toISOString()}`,
      });
    }
    expect(await harness.store.count()).toBe(before);
    // Within its new life it still may.
    await harness.tokens.createToken(caller as NonNullable<typeof caller>, {
      name: 'within',
      expiresAt: graceEnd,
    });
  });
});
