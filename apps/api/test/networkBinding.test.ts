// Tokens bound to networks (allowedCidrs): they authenticate and verify only from inside them, also behind TRUST_PROXY, and no caller issues a token reaching wider than itself.
import { beforeEach, describe, expect, it } from 'vitest';
import { expectAnswer } from './contract.js';
import { createHarness, type Harness } from './harness.js';

let harness: Harness;

/** What a token manager needs to create, read and regenerate tokens (and to verify them). */
const MANAGER = { orgCapabilities: { apiTokens: ['create', 'read', 'update', 'delete'] } };

const self = (secret: string, forwardedFor?: string) => {
  const request = harness.as(secret).get('/tokens/self');
  return forwardedFor === undefined ? request : request.set('X-Forwarded-For', forwardedFor);
};

const verify = async (body: object) =>
  (
    await expectAnswer(
      harness.as(harness.adminSecret).post('/tokens/verify', body),
      'post',
      '/tokens/verify',
      200,
    )
  ).body;

describe('a token bound to networks, at this API', () => {
  beforeEach(async () => {
    harness = await createHarness();
  });

  // supertest connects over loopback: the server sees 127.0.0.1, or ::ffff:127.0.0.1 on a dual-stack socket.
  it('authenticates from inside its networks, the IPv4-mapped loopback counting as 127.0.0.1', async () => {
    const secret = await harness.callerWith({}, { allowedCidrs: ['127.0.0.0/8'] });
    const answer = await expectAnswer(self(secret), 'get', '/tokens/self', 200);
    expect(answer.body.allowedCidrs).toEqual(['127.0.0.0/8']);
  });

  it('is refused from outside with 403, naming the address and never the networks', async () => {
    const secret = await harness.callerWith(MANAGER, { allowedCidrs: ['203.0.113.0/24', '2001:db8::/32'] });
    for (const request of [
      () => self(secret),
      () => harness.as(secret).get('/tokens'),
      () => harness.createToken(secret, { name: 'x', allowedCidrs: ['203.0.113.0/25'] }),
    ]) {
      const answer = await request();
      expect(answer.status).toBe(403);
      expect(answer.body).toEqual({
        code: 403,
        message: expect.stringMatching(
          /^Authorization: this token may not be used from [0-9.:f]*127\.0\.0\.1, which is outside/,
        ),
      });
      expect(answer.body.message).not.toMatch(/203\.0\.113|2001:db8/);
    }
    // Documented where the spec says so.
    await expectAnswer(self(secret), 'get', '/tokens/self', 403);
    await expectAnswer(harness.as(secret).get('/tokens/policy'), 'get', '/tokens/policy', 403);
  });

  it('does not note a use from outside as apiLastUsed', async () => {
    const secret = await harness.callerWith({}, { allowedCidrs: ['203.0.113.0/24'] });
    expect((await self(secret)).status).toBe(403);
    await harness.tokens.flush();
    const listed = (await harness.as(harness.adminSecret).get('/tokens')).body as {
      name: string;
      apiLastUsed: string | null;
    }[];
    expect(listed.find((token) => token.name === 'test caller')?.apiLastUsed).toBeNull();
  });
});

describe('a token bound to networks, behind a trusted proxy (TRUST_PROXY)', () => {
  beforeEach(async () => {
    harness = await createHarness({ trustProxy: 'loopback' });
  });

  it('is judged by the client address X-Forwarded-For names, not the proxy', async () => {
    const secret = await harness.callerWith({}, { allowedCidrs: ['203.0.113.0/24', '2001:db8::/32'] });
    await expectAnswer(self(secret, '203.0.113.7'), 'get', '/tokens/self', 200);
    await expectAnswer(self(secret, '2001:db8::7'), 'get', '/tokens/self', 200);
    await expectAnswer(self(secret, '::ffff:203.0.113.7'), 'get', '/tokens/self', 200);
    const refused = await expectAnswer(self(secret, '198.51.100.4'), 'get', '/tokens/self', 403);
    expect(refused.body.message).toContain('198.51.100.4');
    // The proxy itself (loopback) is not the client: a token bound to loopback is refused for a client elsewhere.
    const loopbackOnly = await harness.callerWith({}, { allowedCidrs: ['127.0.0.0/8'] });
    await expectAnswer(self(loopbackOnly, '203.0.113.7'), 'get', '/tokens/self', 403);
  });
});

describe('verifying a token bound to networks', () => {
  beforeEach(async () => {
    harness = await createHarness();
  });

  it('is VALID from inside, ADDRESS_NOT_ALLOWED from outside or from nowhere', async () => {
    const created = await harness.createToken(harness.adminSecret, {
      name: 'bound',
      allowedCidrs: ['203.0.113.0/24', '2001:db8::/32'],
    });
    const token = created.body.token as string;
    expect(await verify({ token, clientAddress: '203.0.113.255' })).toMatchObject({
      valid: true,
      code: 'VALID',
    });
    expect(await verify({ token, clientAddress: '::ffff:203.0.113.1' })).toMatchObject({ code: 'VALID' });
    expect(await verify({ token, clientAddress: '2001:db8:ffff::1' })).toMatchObject({ code: 'VALID' });
    expect(await verify({ token, clientAddress: '203.0.114.0' })).toEqual({
      valid: false,
      code: 'ADDRESS_NOT_ALLOWED',
    });
    expect(await verify({ token, clientAddress: '2001:db9::1' })).toEqual({
      valid: false,
      code: 'ADDRESS_NOT_ALLOWED',
    });
    expect(await verify({ token })).toEqual({ valid: false, code: 'ADDRESS_NOT_ALLOWED' });
  });

  it('an unbound token is VALID from any address, or none', async () => {
    const created = await harness.createToken(harness.adminSecret, { name: 'anywhere' });
    const token = created.body.token as string;
    expect(created.body).not.toHaveProperty('allowedCidrs');
    expect(await verify({ token, clientAddress: '198.51.100.4' })).toMatchObject({ code: 'VALID' });
    expect(await verify({ token })).toMatchObject({ code: 'VALID' });
  });

  it('refuses a clientAddress that is not an IP address with 400', async () => {
    const created = await harness.createToken(harness.adminSecret, { name: 'anywhere' });
    await expectAnswer(
      harness
        .as(harness.adminSecret)
        .post('/tokens/verify', { token: created.body.token, clientAddress: '203.0.113.0/24' }),
      'post',
      '/tokens/verify',
      400,
      /^body\.clientAddress: "203\.0\.113\.0\/24" is not an IPv4 or IPv6 address/,
    );
  });
});

describe('creating and regenerating bound tokens', () => {
  beforeEach(async () => {
    harness = await createHarness();
  });

  // The caller is bound to loopback, so that it can make requests here, and to two more networks.
  const boundCaller = () =>
    harness.callerWith(MANAGER, { allowedCidrs: ['127.0.0.0/8', '10.0.0.0/8', '2001:db8::/32'] });

  it('answers the networks normalised, on create, get, list and verify alike', async () => {
    const created = await expectAnswer(
      harness.createToken(harness.adminSecret, {
        name: 'normalised',
        allowedCidrs: [
          '10.1.2.3/8',
          '2001:DB8:0::1/32',
          '::ffff:192.0.2.1/120',
          '10.0.0.0/8',
          '198.51.100.7',
        ],
      }),
      'post',
      '/tokens',
      200,
    );
    const expected = ['10.0.0.0/8', '2001:db8::/32', '192.0.2.0/24', '198.51.100.7/32'];
    expect(created.body.allowedCidrs).toEqual(expected);
    const read = await harness.as(harness.adminSecret).get(`/tokens/${created.body.id}`);
    expect(read.body.allowedCidrs).toEqual(expected);
    const listed = (await harness.as(harness.adminSecret).get('/tokens')).body as { id: string }[];
    expect(listed.find((token) => token.id === created.body.id)).toMatchObject({ allowedCidrs: expected });
    const verdict = await verify({ token: created.body.token, clientAddress: '10.9.9.9' });
    expect(verdict.token.allowedCidrs).toEqual(expected);
  });

  it('refuses an invalid network with 400 naming its index, changing nothing', async () => {
    const before = await harness.store.count();
    await expectAnswer(
      harness.createToken(harness.adminSecret, { name: 'x', allowedCidrs: ['10.0.0.0/8', '10.0.0.0/33'] }),
      'post',
      '/tokens',
      400,
      /^body\.allowedCidrs\[1\]: "10\.0\.0\.0\/33" is not an IPv4 or IPv6 network/,
    );
    expect(await harness.store.count()).toBe(before);
  });

  it('refuses more than 100 networks with 400', async () => {
    const many = Array.from({ length: 101 }, (_, i) => `10.0.${i}.0/24`);
    await expectAnswer(
      harness.createToken(harness.adminSecret, { name: 'x', allowedCidrs: many }),
      'post',
      '/tokens',
      400,
      /^body\.allowedCidrs/,
    );
  });

  it('lets a bound caller create a token inside its networks', async () => {
    const caller = await boundCaller();
    const created = await expectAnswer(
      harness.createToken(caller, {
        name: 'inside',
        allowedCidrs: ['10.1.0.0/16', '2001:db8:1::/48', '127.0.0.1'],
      }),
      'post',
      '/tokens',
      200,
    );
    expect(created.body.allowedCidrs).toEqual(['10.1.0.0/16', '2001:db8:1::/48', '127.0.0.1/32']);
  });

  it.each([
    ['no networks (anywhere)', undefined, /^body\.allowedCidrs: the caller is bound to networks/],
    ['null networks (anywhere)', null, /^body\.allowedCidrs: the caller is bound to networks/],
    ['an empty list (anywhere)', [], /^body\.allowedCidrs: the caller is bound to networks/],
    [
      'a wider network',
      ['10.1.0.0/16', '10.0.0.0/7'],
      /^body\.allowedCidrs\[1\]: 10\.0\.0\.0\/7 is not inside/,
    ],
    ['a network elsewhere', ['192.168.0.0/16'], /^body\.allowedCidrs\[0\]: 192\.168\.0\.0\/16 is not inside/],
    ['every IPv6 address', ['::/0'], /^body\.allowedCidrs\[0\]: ::\/0 is not inside/],
  ])('refuses a bound caller a token with %s (403), changing nothing', async (_, allowedCidrs, message) => {
    const caller = await boundCaller();
    const before = await harness.store.count();
    await expectAnswer(
      harness.createToken(caller, {
        name: 'escalated',
        ...(allowedCidrs === undefined ? {} : { allowedCidrs }),
      }),
      'post',
      '/tokens',
      403,
      message,
    );
    expect(await harness.store.count()).toBe(before);
  });

  it('refuses a bound caller to regenerate a token into one reaching wider, copied or new, changing nothing', async () => {
    const caller = await boundCaller();
    const unbound = await harness.createToken(harness.adminSecret, { name: 'unbound' });
    const before = await harness.store.count();
    // Copying an unbound token would give the caller an unbound secret.
    await expectAnswer(
      harness
        .as(caller)
        .post(`/tokens/${unbound.body.id}/regenerate`, { existingTokenExpiresAt: '2031-01-01T00:00:00Z' }),
      'post',
      '/tokens/{id}/regenerate',
      403,
      /^body\.allowedCidrs: the caller is bound to networks/,
    );
    await expectAnswer(
      harness.as(caller).post(`/tokens/${unbound.body.id}/regenerate`, {
        existingTokenExpiresAt: '2031-01-01T00:00:00Z',
        newToken: { name: 'wider', allowedCidrs: ['0.0.0.0/0'] },
      }),
      'post',
      '/tokens/{id}/regenerate',
      403,
      /^body\.newToken\.allowedCidrs\[0\]: 0\.0\.0\.0\/0 is not inside/,
    );
    expect(await harness.store.count()).toBe(before);
    // The old token was not cut to the grace period either.
    const old = await harness.as(harness.adminSecret).get(`/tokens/${unbound.body.id}`);
    expect(old.body.expiresAt).toBeNull();
  });

  it('lets a bound caller regenerate a token inside its networks; the copy keeps them', async () => {
    const caller = await boundCaller();
    const inside = await harness.createToken(caller, { name: 'inside', allowedCidrs: ['10.2.0.0/16'] });
    const replaced = await expectAnswer(
      harness
        .as(caller)
        .post(`/tokens/${inside.body.id}/regenerate`, { existingTokenExpiresAt: '2020-01-01T00:00:00Z' }),
      'post',
      '/tokens/{id}/regenerate',
      200,
    );
    expect(replaced.body.allowedCidrs).toEqual(['10.2.0.0/16']);
  });
});

describe('the audit trail', () => {
  beforeEach(async () => {
    harness = await createHarness();
  });

  it('records where and from when a created token works', async () => {
    const notBefore = new Date(harness.clock().getTime() + 60_000).toISOString();
    const created = await harness.createToken(harness.adminSecret, {
      name: 'recorded',
      allowedCidrs: ['203.0.113.9/24'],
      notBefore,
    });
    const events = await expectAnswer(
      harness.as(harness.adminSecret).get(`/audit/events?type=token.created&tokenId=${created.body.id}`),
      'get',
      '/audit/events',
      200,
    );
    expect(events.body).toEqual([
      expect.objectContaining({
        details: expect.objectContaining({ allowedCidrs: ['203.0.113.0/24'], notBefore }),
      }),
    ]);
  });
});
