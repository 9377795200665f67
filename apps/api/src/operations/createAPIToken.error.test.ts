// createAPIToken, bad input: each case gets a 4xx `{ code, message }` naming the field, and changes nothing.
import supertest from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectAnswer } from '../../test/contract.js';
import {
  catalog,
  createHarness,
  expectNoTokenChangeAfterEach,
  type Harness,
  scopedCapabilities,
  spec,
} from '../../test/harness.js';
import { componentSchema } from '../spec.js';
import { SCOPED_FIELDS } from '../tokens/capabilities.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
});
expectNoTokenChangeAfterEach(() => harness);

const createAs = (body: unknown) => harness.createToken(harness.adminSecret, body);

/** Asserts a documented error answer with this status whose message names `field`. */
async function expectRefused(
  request: PromiseLike<supertest.Response>,
  status: number,
  field: string | RegExp,
) {
  await expectAnswer(request, 'post', '/tokens', status, field);
}

const createToken = componentSchema(spec, 'CreateAPIToken');
const nameRule = createToken.properties?.name ?? {};
const descriptionRule = createToken.properties?.description ?? {};
const datasetMap = componentSchema(spec, 'DatasetCapabilitiesMap');

describe('createAPIToken refuses bad input', () => {
  it('a missing name', () => expectRefused(createAs({}), 400, 'body.name'));
  it('a blank name', () => expectRefused(createAs({ name: ' \t ' }), 400, 'body.name'));
  it('an empty name', () => expectRefused(createAs({ name: '' }), 400, 'body.name'));
  it('a name longer than the spec allows', () =>
    expectRefused(createAs({ name: 'n'.repeat((nameRule.maxLength ?? 0) + 1) }), 400, 'body.name'));
  it('a name of a wrong type', () => expectRefused(createAs({ name: 42 }), 400, 'body.name'));
  it('a description longer than the spec allows', () =>
    expectRefused(
      createAs({ name: 'x', description: 'd'.repeat((descriptionRule.maxLength ?? 0) + 1) }),
      400,
      'body.description',
    ));
  it('an expiresAt in the past', () =>
    expectRefused(createAs({ name: 'x', expiresAt: '2020-01-01T00:00:00Z' }), 400, 'body.expiresAt'));
  it('an expiresAt equal to now', () =>
    expectRefused(createAs({ name: 'x', expiresAt: harness.clock().toISOString() }), 400, 'body.expiresAt'));
  it('an expiresAt that is not a date-time', () =>
    expectRefused(createAs({ name: 'x', expiresAt: 'next tuesday' }), 400, 'body.expiresAt'));
  it('an expiresAt without a time zone', () =>
    expectRefused(createAs({ name: 'x', expiresAt: '2031-01-01T00:00:00' }), 400, 'body.expiresAt'));
  it('an unknown property', () => expectRefused(createAs({ name: 'x', owner: 'me' }), 400, 'body.owner'));
  it('an unknown org capability', () =>
    expectRefused(
      createAs({ name: 'x', orgCapabilities: { everything: ['read'] } }),
      400,
      'body.orgCapabilities.everything',
    ));
  it('an unknown dataset capability', () =>
    expectRefused(
      createAs({ name: 'x', datasetCapabilities: { logs: { drop: ['delete'] } } }),
      400,
      'body.datasetCapabilities.logs.drop',
    ));
  it('a repeated action', () =>
    expectRefused(
      createAs({ name: 'x', orgCapabilities: { users: ['read', 'read'] } }),
      400,
      'body.orgCapabilities.users',
    ));
  it('an action list that is not an array', () =>
    expectRefused(
      createAs({ name: 'x', orgCapabilities: { users: 'read' } }),
      400,
      'body.orgCapabilities.users',
    ));
  it('more datasets than the spec allows', () => {
    const datasets = Object.fromEntries(
      Array.from({ length: (datasetMap.maxProperties ?? 0) + 1 }, (_, i) => [`ds${i}`, { query: ['read'] }]),
    );
    return expectRefused(
      createAs({ name: 'x', datasetCapabilities: datasets }),
      400,
      'body.datasetCapabilities',
    );
  });
  describe.each(SCOPED_FIELDS)('%s keys', (field) => {
    const rule = componentSchema(spec, field === 'datasetCapabilities' ? 'DatasetName' : 'ViewName');
    it.each([
      ['with a space', 'my logs'],
      ['starting with a dot', '.hidden'],
      ['empty', ''],
      ['with a slash', 'a/b'],
      ['a wildcard pattern', 'logs-*'],
      ['too long', 'd'.repeat((rule.maxLength ?? 0) + 1)],
    ])('refuses a name %s', (_, name) =>
      expectRefused(createAs({ name: 'x', [field]: { [name]: { query: ['read'] } } }), 400, `body.${field}`),
    );
  });

  it('malformed JSON', () =>
    expectRefused(
      harness
        .createToken(harness.adminSecret, undefined)
        .set('Content-Type', 'application/json')
        .send('{"name": '),
      400,
      'body',
    ));
  it('a body that is not an object', () => expectRefused(createAs(['x']), 400, 'body'));
  it('a body over the limit the spec sets', () =>
    expectRefused(
      createAs({ name: 'x', description: 'd'.repeat(spec.info['x-max-request-body-bytes']) }),
      413,
      /^body: .*64 KiB/,
    ));
  it('a content type other than JSON', () =>
    expectRefused(
      harness.createToken(harness.adminSecret, undefined).set('Content-Type', 'text/plain').send('name=x'),
      415,
      'Content-Type',
    ));
  it('no body and no content type', () =>
    expectRefused(harness.createToken(harness.adminSecret, undefined), 415, 'Content-Type'));
  it('a charset other than utf-8', () =>
    expectRefused(
      harness
        .createToken(harness.adminSecret, undefined)
        .set('Content-Type', 'application/json; charset=utf-16')
        .send('{"name":"x"}'),
      415,
      'Content-Type',
    ));

  // Spec-driven: for every capability, a value outside its action enum.
  // Every action any capability knows (the spec's CRUDAction), plus one no capability knows.
  const everyAction = [...(componentSchema(spec, 'CRUDAction').enum ?? []), 'admin'];
  const actionsOutside = (allowed: readonly string[]) =>
    everyAction.filter((action) => !allowed.includes(action));

  describe.each([...catalog.org])('orgCapabilities.%s', (capability, actions) => {
    const outside = actionsOutside(actions);
    it.each(outside)('refuses %s', (action) =>
      expectRefused(
        createAs({ name: 'x', orgCapabilities: { [capability]: [action] } }),
        400,
        `body.orgCapabilities.${capability}[0]`,
      ),
    );
  });
  describe.each(scopedCapabilities)('%s.<name>.%s', (field, capability, actions) => {
    const outside = actionsOutside(actions);
    it.each(outside)('refuses %s', (action) =>
      expectRefused(
        createAs({ name: 'x', [field]: { logs: { [capability]: [action] } } }),
        400,
        `body.${field}.logs.${capability}[0]`,
      ),
    );
  });
});

describe('errors outside operations are JSON too', () => {
  it('an unknown route under the API', async () => {
    const answer = await supertest(harness.app)
      .get('/v2/nothing-here')
      .set('Authorization', `Bearer ${harness.adminSecret}`);
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({ code: 404, message: expect.stringContaining('/v2/nothing-here') });
  });
  it('a method the route does not have', async () => {
    const answer = await supertest(harness.app)
      .put('/v2/tokens')
      .set('Authorization', `Bearer ${harness.adminSecret}`);
    expect(answer.status).toBe(405);
    expect(answer.body).toEqual({ code: 405, message: expect.stringContaining('PUT') });
  });
  it('an unknown route outside the API', async () => {
    const answer = await supertest(harness.app).get('/index.html');
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({ code: 404, message: expect.stringContaining('/index.html') });
  });
});
