// Wire compatibility with Axiom's official Go and Python clients: what they send is accepted, what we answer they decode.
import { beforeAll, describe, expect, it } from 'vitest';
import { expectAnswer } from './contract.js';
import { createHarness, type Harness } from './harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
});

const ACTIONS = ['create', 'read', 'update', 'delete'];
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

// What Go's encoding/json puts on the wire for the Go client's request types: no omitempty, so
// nil slices and maps are null, an unset time.Time is its zero value, an unset string is "".
const goDatasetCapabilities = (set: Record<string, string[]>) => ({
  ingest: null,
  query: null,
  starredQueries: null,
  virtualFields: null,
  trim: null,
  vacuum: null,
  data: null,
  share: null,
  ...set,
});
const goOrgCapabilities = (set: Record<string, string[]>) => ({
  annotations: null,
  apiTokens: null,
  auditLog: null,
  billing: null,
  dashboards: null,
  datasets: null,
  endpoints: null,
  flows: null,
  integrations: null,
  monitors: null,
  notifiers: null,
  rbac: null,
  sharedAccessKeys: null,
  users: null,
  views: null,
  ...set,
});
const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/**
 * Would Go's encoding/json decode this into the Go client's APIToken (or CreateTokenResponse)?
 * Strings must be strings, time.Time an RFC 3339 string (null leaves the zero time), the
 * capability slices arrays of the Action strings it knows (its UnmarshalJSON refuses others),
 * and samlAuthenticated a bool. Unknown fields are ignored, as Go does.
 */
function expectGoDecodes(token: Record<string, unknown>, withSecret: boolean) {
  const actionLists = (value: unknown) => {
    expect(typeof value === 'object' && value !== null && !Array.isArray(value)).toBe(true);
    for (const actions of Object.values(value as object)) {
      expect(actions === null || (Array.isArray(actions) && actions.every((a) => ACTIONS.includes(a)))).toBe(
        true,
      );
    }
  };
  expect(typeof token.id).toBe('string');
  expect(typeof token.name).toBe('string');
  expect(typeof token.description).toBe('string');
  expect(token.expiresAt === null || RFC3339.test(token.expiresAt as string)).toBe(true);
  for (const field of ['datasetCapabilities', 'viewCapabilities'] as const) {
    for (const lists of Object.values(token[field] as object)) actionLists(lists);
  }
  actionLists(token.orgCapabilities);
  expect(typeof token.samlAuthenticated).toBe('boolean');
  if (withSecret) expect(typeof token.token).toBe('string');
}

/** Python's client (dataclasses with Optional fields) sends None, i.e. null, for whatever is unset. */
function expectPythonDecodes(token: Record<string, unknown>) {
  // Its response dataclasses take the fields by name; a missing one raises, an extra one is ignored.
  for (const field of ['id', 'name', 'description', 'expiresAt', 'datasetCapabilities', 'orgCapabilities']) {
    expect(token).toHaveProperty(field);
  }
}

const create = (body: unknown) =>
  expectAnswer(harness.createToken(harness.adminSecret, body), 'post', '/tokens', 200);

describe("Axiom's Go client", () => {
  it('creates a token with every field present, nulls and the zero time meaning "not set"', async () => {
    const answer = await create({
      name: 'go-shipper',
      description: '',
      expiresAt: GO_ZERO_TIME,
      datasetCapabilities: { 'logs-prod': goDatasetCapabilities({ ingest: ['create'] }) },
      orgCapabilities: goOrgCapabilities({ dashboards: ['read'] }),
    });
    expect(answer.body).toMatchObject({
      description: '',
      expiresAt: null,
      datasetCapabilities: { 'logs-prod': { ingest: ['create'] } },
      orgCapabilities: { dashboards: ['read'] },
    });
    expectGoDecodes(answer.body, true);
  });

  it('creates a token with a nil capabilities map', async () => {
    const answer = await create({
      name: 'go-empty',
      description: '',
      expiresAt: GO_ZERO_TIME,
      datasetCapabilities: null,
      orgCapabilities: goOrgCapabilities({}),
    });
    expect(answer.body).toMatchObject({ datasetCapabilities: {}, orgCapabilities: {}, viewCapabilities: {} });
  });

  it('regenerates with an unset new expiry (the zero time): the replacement never expires', async () => {
    const created = await create({ name: 'go-rotate', expiresAt: '2031-01-01T00:00:00Z' });
    const answer = await expectAnswer(
      harness.as(harness.adminSecret).post(`/tokens/${created.body.id}/regenerate`, {
        existingTokenExpiresAt: '2030-01-02T00:00:00Z',
        newTokenExpiresAt: GO_ZERO_TIME,
      }),
      'post',
      '/tokens/{id}/regenerate',
      200,
    );
    expect(answer.body.expiresAt).toBeNull();
    expectGoDecodes(answer.body, true);
  });

  it('decodes every token representation: get and list', async () => {
    const created = await create({
      name: 'go-read',
      datasetCapabilities: { logs: goDatasetCapabilities({ query: ['read'] }) },
    });
    expectGoDecodes((await harness.as(harness.adminSecret).get(`/tokens/${created.body.id}`)).body, false);
    for (const token of (await harness.as(harness.adminSecret).get('/tokens')).body)
      expectGoDecodes(token, false);
  });
});

describe("Axiom's clients and this service's extensions", () => {
  it('still decode a token bound to networks and starting later: the new fields are extra, the others unchanged', async () => {
    const answer = await create({
      name: 'bound-later',
      expiresAt: '2031-01-01T00:00:00Z',
      allowedCidrs: ['203.0.113.0/24'],
      notBefore: '2030-06-01T00:00:00Z',
    });
    expect(answer.body).toMatchObject({
      expiresAt: '2031-01-01T00:00:00.000Z',
      allowedCidrs: ['203.0.113.0/24'],
      notBefore: '2030-06-01T00:00:00.000Z',
    });
    expectGoDecodes(answer.body, true);
    expectPythonDecodes(answer.body);
    const read = (await harness.as(harness.adminSecret).get(`/tokens/${answer.body.id}`)).body;
    expectGoDecodes(read, false);
    expectPythonDecodes(read);
    for (const token of (await harness.as(harness.adminSecret).get('/tokens')).body)
      expectGoDecodes(token, false);
  });

  it('answer a token bound nowhere and starting at once exactly as before: no new field at all', async () => {
    const answer = await create({ name: 'plain' });
    expect(Object.keys(answer.body).sort()).toEqual(
      [
        'apiLastUsed',
        'createdAt',
        'datasetCapabilities',
        'description',
        'expiresAt',
        'id',
        'name',
        'orgCapabilities',
        'samlAuthenticated',
        'token',
        'viewCapabilities',
      ].sort(),
    );
  });
});

describe("Axiom's Python client", () => {
  it('creates a token with unset fields as null', async () => {
    const answer = await create({
      name: 'py-analyst',
      description: null,
      expiresAt: null,
      datasetCapabilities: {
        '*': {
          ingest: null,
          query: ['read'],
          starredQueries: null,
          virtualFields: null,
          trim: null,
          vacuum: null,
          data: null,
        },
      },
      orgCapabilities: null,
    });
    expect(answer.body).toMatchObject({
      description: '',
      expiresAt: null,
      datasetCapabilities: { '*': { query: ['read'] } },
    });
    expectPythonDecodes(answer.body);
  });
});

describe('date-times', () => {
  it.each([
    ['whole seconds, Z', '2031-01-01T00:00:00Z', '2031-01-01T00:00:00.000Z'],
    ['one fractional digit', '2031-01-01T00:00:00.5Z', '2031-01-01T00:00:00.500Z'],
    ['nanoseconds, as Go sends', '2031-01-01T00:00:00.123456789Z', '2031-01-01T00:00:00.123Z'],
    ['microseconds, as Python sends', '2031-01-01T00:00:00.123456+00:00', '2031-01-01T00:00:00.123Z'],
    ['a positive offset', '2031-01-01T05:30:00+05:30', '2031-01-01T00:00:00.000Z'],
    ['a negative offset', '2030-12-31T19:00:00-05:00', '2031-01-01T00:00:00.000Z'],
  ])('accepts %s and answers it in UTC with milliseconds', async (_, sent, answered) => {
    const answer = await create({ name: 'dated', expiresAt: sent });
    expect(answer.body.expiresAt).toBe(answered);
  });

  it.each([
    ['no zone', '2031-01-01T00:00:00'],
    ['an impossible date', '2031-02-30T00:00:00Z'],
    ['a date only', '2031-01-01'],
  ])('refuses %s', async (_, sent) => {
    await expectAnswer(
      harness.createToken(harness.adminSecret, { name: 'x', expiresAt: sent }),
      'post',
      '/tokens',
      400,
      'body.expiresAt',
    );
  });
});

describe('what stays an error', () => {
  it('a null inside an action list', () =>
    expectAnswer(
      harness.createToken(harness.adminSecret, { name: 'x', orgCapabilities: { users: [null] } }),
      'post',
      '/tokens',
      400,
      'body.orgCapabilities.users[0]',
    ));
  it('a null name', () =>
    expectAnswer(
      harness.createToken(harness.adminSecret, { name: null }),
      'post',
      '/tokens',
      400,
      'body.name',
    ));
  it('a null dataset entry', () =>
    expectAnswer(
      harness.createToken(harness.adminSecret, { name: 'x', datasetCapabilities: { logs: null } }),
      'post',
      '/tokens',
      400,
      'body.datasetCapabilities.logs',
    ));
});

describe('a token reads back exactly as it was answered', () => {
  it('create, get and list agree field for field: same fields, date format and array order', async () => {
    const created = await create({
      name: 'round-trip',
      description: 'equality',
      expiresAt: '2031-07-07T07:07:07.7654321+02:00',
      datasetCapabilities: {
        zeta: goDatasetCapabilities({ starredQueries: ['delete', 'read'] }),
        alpha: { share: ['delete', 'create'] },
      },
      orgCapabilities: goOrgCapabilities({ users: ['update', 'create'] }),
      viewCapabilities: { v: { share: ['read'], query: ['read'] } },
    });
    const { token: _secret, ...answered } = created.body;
    const got = (await harness.as(harness.adminSecret).get(`/tokens/${created.body.id}`)).body;
    const listed = (await harness.as(harness.adminSecret).get('/tokens')).body.find(
      (token: { id: string }) => token.id === created.body.id,
    );
    expect(JSON.stringify(got)).toBe(JSON.stringify(answered));
    expect(JSON.stringify(listed)).toBe(JSON.stringify(answered));
  });
});

describe('date-time edges', () => {
  it('counts a leap second as the start of the next minute', async () => {
    const answer = await create({ name: 'leap', expiresAt: '2031-06-30T23:59:60Z' });
    expect(answer.body.expiresAt).toBe('2031-07-01T00:00:00.000Z');
  });
  it.each([
    ['an offset that pushes it past year 9999 in UTC', '9999-12-31T23:00:00-05:00'],
    ['an offset without a colon', '2031-06-30T23:59:59+0100'],
    ['an offset of hours only', '2031-06-30T23:59:59+01'],
  ])('refuses %s', async (_, expiresAt) => {
    await expectAnswer(
      harness.createToken(harness.adminSecret, { name: 'x', expiresAt }),
      'post',
      '/tokens',
      400,
      'body.expiresAt',
    );
  });
  it('accepts the last instant of year 9999', async () => {
    const answer = await create({ name: 'far', expiresAt: '9999-12-31T23:59:59.999Z' });
    expect(answer.body.expiresAt).toBe('9999-12-31T23:59:59.999Z');
  });
});
