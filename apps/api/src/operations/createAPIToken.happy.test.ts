// createAPIToken, happy paths: every capability and action the spec allows can be granted and reads back as granted.
import { beforeAll, describe, expect, it } from 'vitest';
import { expectAnswerMatchesSpec } from '../../test/contract.js';
import { catalog, createHarness, type Harness, NAMES, scopedCapabilities } from '../../test/harness.js';

let harness: Harness;
// One app for the file: each case creates its own tokens and reads nothing else back.
beforeAll(async () => {
  harness = await createHarness();
});

const expectCreated = (answer: { status: number; body: unknown; headers: Record<string, string> }) => {
  expectAnswerMatchesSpec(answer, 'post', '/tokens');
  expect(answer.status).toBe(200);
};

describe('createAPIToken', () => {
  it('creates a token and answers with its fields and a fresh xaat- secret', async () => {
    const answer = await harness.createToken(harness.adminSecret, {
      name: 'shipper-prod',
      description: 'Log shipper',
      expiresAt: '2031-06-01T12:00:00Z',
      datasetCapabilities: { 'logs-prod': { ingest: ['create'] } },
      orgCapabilities: { dashboards: ['read'] },
    });
    expectCreated(answer);
    expect(answer.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'shipper-prod',
      description: 'Log shipper',
      expiresAt: '2031-06-01T12:00:00.000Z',
      datasetCapabilities: { 'logs-prod': { ingest: ['create'] } },
      orgCapabilities: { dashboards: ['read'] },
      viewCapabilities: {},
      samlAuthenticated: false,
      createdAt: harness.clock().toISOString(),
      apiLastUsed: null,
      token: expect.stringMatching(/^xaat-[0-9A-Za-z]{49}$/),
    });
    expect(answer.body.token).not.toBe(harness.adminSecret);
  });

  it('fills in what the request left out: empty description, no expiry, no capabilities', async () => {
    const answer = await harness.createToken(harness.adminSecret, { name: 'bare' });
    expectCreated(answer);
    expect(answer.body).toMatchObject({
      description: '',
      expiresAt: null,
      datasetCapabilities: {},
      orgCapabilities: {},
    });
  });

  it('accepts expiresAt null as never expires', async () => {
    const answer = await harness.createToken(harness.adminSecret, { name: 'forever', expiresAt: null });
    expectCreated(answer);
    expect(answer.body.expiresAt).toBeNull();
  });

  it('answers capabilities in canonical order, whatever order they were sent in', async () => {
    const answer = await harness.createToken(harness.adminSecret, {
      name: 'shuffled',
      datasetCapabilities: {
        zeta: { query: ['read'] },
        alpha: { starredQueries: ['delete', 'create', 'read'] },
      },
      orgCapabilities: { users: ['update', 'read'], apiTokens: ['delete', 'create'], annotations: [] },
    });
    expectCreated(answer);
    expect(Object.keys(answer.body.datasetCapabilities)).toEqual(['alpha', 'zeta']);
    expect(answer.body.datasetCapabilities.alpha.starredQueries).toEqual(['create', 'read', 'delete']);
    expect(Object.keys(answer.body.orgCapabilities)).toEqual(['apiTokens', 'users']);
    expect(answer.body.orgCapabilities.users).toEqual(['read', 'update']);
  });

  it('gives every token its own id and secret', async () => {
    const first = await harness.createToken(harness.adminSecret, { name: 'twin' });
    const second = await harness.createToken(harness.adminSecret, { name: 'twin' });
    expect(first.body.id).not.toBe(second.body.id);
    expect(first.body.token).not.toBe(second.body.token);
  });

  it('issues a secret that authenticates as the new token, with exactly its capabilities', async () => {
    const answer = await harness.createToken(harness.adminSecret, {
      name: 'creator',
      orgCapabilities: { apiTokens: ['create'] },
    });
    const created = await harness.tokens.authenticate(answer.body.token);
    expect(created?.id).toBe(answer.body.id);
    expect(created?.orgCapabilities).toEqual({ apiTokens: ['create'] });
  });

  // Spec-driven: the cases below come from the spec's capability schemas, so a spec change changes them.
  describe.each([...catalog.org])('orgCapabilities.%s', (capability, actions) => {
    it.each([...actions])('grants %s', async (action) => {
      const answer = await harness.createToken(harness.adminSecret, {
        name: `org ${capability} ${action}`,
        orgCapabilities: { [capability]: [action] },
      });
      expectCreated(answer);
      expect(answer.body.orgCapabilities).toEqual({ [capability]: [action] });
    });

    it('grants every allowed action at once', async () => {
      const answer = await harness.createToken(harness.adminSecret, {
        name: `org ${capability}`,
        orgCapabilities: { [capability]: [...actions].reverse() },
      });
      expectCreated(answer);
      expect(answer.body.orgCapabilities).toEqual({ [capability]: actions });
    });
  });

  describe.each(scopedCapabilities)('%s.<name>.%s', (field, capability, actions) => {
    it.each([...actions])('grants %s on one name and on *', async (action) => {
      const answer = await harness.createToken(harness.adminSecret, {
        name: `${field} ${capability} ${action}`,
        [field]: { '*': { [capability]: [action] }, [NAMES[field]]: { [capability]: [action] } },
      });
      expectCreated(answer);
      expect(answer.body[field]).toEqual({
        '*': { [capability]: [action] },
        [NAMES[field]]: { [capability]: [action] },
      });
    });
  });
});
