// express-openapi-validator in the app: what it refuses, how the refusal names the field and says
// what to do, and how answers that break the spec are caught in development and tests.
import express, { type RequestHandler } from 'express';
import supertest from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import { createHarness, expectNoTokenChangeAfterEach, type Harness, spec } from '../../test/harness.js';
import { fieldPath } from '../fieldPath.js';
import { createLogger } from '../logger.js';
import { componentSchema, type SchemaObject } from '../spec.js';
import { errorHandler } from './errors.js';
import { logRequests } from './requestLog.js';
import { validateAgainstSpec } from './specValidation.js';

let harness: Harness;
/** A token to refuse regenerate requests for. */
let existingId: string;
beforeAll(async () => {
  harness = await createHarness();
  existingId = (await harness.createToken(harness.adminSecret, { name: 'to rotate' })).body.id;
});
expectNoTokenChangeAfterEach(() => harness);

const createAs = (body: unknown) => harness.createToken(harness.adminSecret, body);

/** The words the spec gives for breaking one rule of a schema (its x-error-messages). */
const specWords = (schema: SchemaObject | undefined, keyword: string): string => {
  const words = (schema?.['x-error-messages'] as Record<string, string> | undefined)?.[keyword];
  if (words === undefined) throw new Error(`the spec gives no x-error-messages.${keyword} here`);
  return words;
};

const createToken = componentSchema(spec, 'CreateAPIToken');
const nameSchema = createToken.properties?.name;
const dateTime = componentSchema(spec, 'DateTime');

async function expectMessage(request: PromiseLike<supertest.Response>, message: string) {
  const answer = await request;
  expect(answer.body).toEqual({ code: 400, message });
}

describe('a refused request says what is wrong, naming the field', () => {
  it('a blank name: body.name must not be blank', async () => {
    expect(specWords(nameSchema, 'not')).toBe('must not be blank');
    await expectMessage(createAs({ name: '   ' }), 'body.name: must not be blank');
    await expectMessage(createAs({ name: ' \t\n' }), 'body.name: must not be blank');
    await expectMessage(createAs({ name: '' }), 'body.name: must not be blank');
  });

  it('a name with a control character says so, not that it is blank', () =>
    expectMessage(createAs({ name: 'a\u0007b' }), `body.name: ${specWords(nameSchema, 'pattern')}`));

  it.each([
    ['without a zone', '2031-01-01T00:00:00'],
    ['that is not a date', 'next tuesday'],
    ['on a day the month does not have', '2031-02-30T00:00:00Z'],
  ])('an expiresAt %s: says the form expected', async (_case, expiresAt) => {
    const words = specWords(dateTime, 'format');
    expect(words).toBe('must be an RFC 3339 date-time with a zone, like 2027-01-31T23:59:59Z');
    await expectMessage(createAs({ name: 'x', expiresAt }), `body.expiresAt: ${words}`);
  });

  it('a regenerate date without a zone names its own field', async () => {
    const answer = await harness
      .as(harness.adminSecret)
      .post(`/tokens/${existingId}/regenerate`, { existingTokenExpiresAt: '2031-01-01 00:00' });
    expect(answer.body).toEqual({
      code: 400,
      message: `body.existingTokenExpiresAt: ${specWords(dateTime, 'format')}`,
    });
  });

  it.each([
    ['datasetCapabilities', 'DatasetName', 'logs/prod', { ingest: ['create'] }],
    ['datasetCapabilities', 'DatasetName', '-starts-with-a-dash', { query: ['read'] }],
    ['viewCapabilities', 'ViewName', 'errors view', { query: ['read'] }],
    ['viewCapabilities', 'ViewName', '', { query: ['read'] }],
  ])('a bad %s key names the key: %s %j', async (field, schemaName, key, capabilities) => {
    const words = specWords(componentSchema(spec, schemaName), 'pattern');
    await expectMessage(
      createAs({ name: 'x', [field]: { good: capabilities, [key]: capabilities } }),
      `body.${field}[${JSON.stringify(key)}]: ${words}`,
    );
  });

  it('an unknown capability close to a real one suggests it', () =>
    expectMessage(
      createAs({ name: 'x', orgCapabilities: { apiToken: ['read'] } }),
      'body.orgCapabilities.apiToken: unknown property; did you mean apiTokens?',
    ));

  it('an unknown dataset capability close to a real one suggests it', () =>
    expectMessage(
      createAs({ name: 'x', datasetCapabilities: { logs: { ingets: ['create'] } } }),
      'body.datasetCapabilities.logs.ingets: unknown property; did you mean ingest?',
    ));

  it('an unknown top-level property lists the ones the body takes', () =>
    expectMessage(
      createAs({ name: 'x', owner: 'me' }),
      `body.owner: unknown property; the allowed ones are ${Object.keys(createToken.properties ?? {}).join(', ')}`,
    ));

  it('an unknown query parameter names it and the ones the operation takes', async () => {
    const listing = spec.paths['/tokens']?.get as unknown as { parameters: { name: string }[] };
    const taken = listing.parameters.map(({ name }) => name).join(', ');
    const answer = await harness.as(harness.adminSecret).get('/tokens?page=2');
    expect(answer.body).toEqual({
      code: 400,
      message: `query.page: unknown parameter; this operation takes ${taken}`,
    });
  });

  it('a query parameter without a value says to give one or leave it out', async () => {
    const answer = await harness.as(harness.adminSecret).get('/tokens?limit=');
    expect(answer.body).toEqual({
      code: 400,
      message: 'query.limit: must not be empty; give a value or leave the parameter out',
    });
  });

  it('a malformed token id in the path says what an id looks like', async () => {
    const idSchema = (spec.components.parameters as Record<string, { schema: SchemaObject }>).TokenId?.schema;
    const answer = await harness.as(harness.adminSecret).get('/tokens/not-an-id');
    expect(answer.body).toEqual({ code: 400, message: `path.id: ${specWords(idSchema, 'format')}` });
  });

  it('a nullable field of the wrong type says both types it takes, once', () =>
    expectMessage(
      createAs({ name: 'x', orgCapabilities: { users: 'read' } }),
      'body.orgCapabilities.users: must be array or null',
    ));
});

describe('fieldPath', () => {
  it('writes plain names with dots, indexes in brackets, and quotes any other key', () => {
    expect(fieldPath('body', ['orgCapabilities', 'billing', 0])).toBe('body.orgCapabilities.billing[0]');
    expect(fieldPath('body', ['datasetCapabilities', 'logs/prod', 'ingest'])).toBe(
      'body.datasetCapabilities["logs/prod"].ingest',
    );
    expect(fieldPath('body', ['datasetCapabilities', '*'])).toBe('body.datasetCapabilities["*"]');
    expect(fieldPath('query', [])).toBe('query');
  });
});

describe('answers that break the spec (response validation, in development and tests)', () => {
  /** GET /v2/tokens/{id} behind the validator with response checks, answering `status` and `body`. */
  function answering(status: number, body: unknown) {
    const logLines: string[] = [];
    const app = express();
    app.use(logRequests(app, createLogger('info', { write: (line: string) => void logLines.push(line) })));
    const handler: RequestHandler = (_req, res) => {
      res.status(status).json(body);
    };
    app.get('/v2/tokens/:id', ...validateAgainstSpec(spec, { validateResponses: true }), handler);
    app.use(errorHandler);
    return { app, logLines };
  }
  const anId = '5f0c6f39-0c55-4a43-9d3f-3d1f3e6a2b7c';

  it('become a 500 that shows nothing, with the problem in the error log', async () => {
    const { app, logLines } = answering(200, { id: anId });
    const answer = await supertest(app).get(`/v2/tokens/${anId}`);
    expect(answer.status).toBe(500);
    expect(answer.body).toEqual({ code: 500, message: 'internal server error' });
    const logged = logLines
      .map((line) => JSON.parse(line))
      .find((entry) => entry.msg === 'request completed');
    expect(logged).toMatchObject({ level: 50, res: { statusCode: 500 } });
    expect(JSON.stringify(logged?.err)).toContain("must have required property 'name'");
  });

  it('a status the operation does not document is one too', async () => {
    const { app } = answering(409, { code: 409, message: 'conflict' });
    expect((await supertest(app).get(`/v2/tokens/${anId}`)).status).toBe(500);
  });

  it('a documented answer leaves unchanged, a nullable date-time included', async () => {
    const token = {
      id: anId,
      name: 'x',
      description: '',
      expiresAt: '2031-01-01T00:00:00.000Z',
      datasetCapabilities: {},
      orgCapabilities: {},
      viewCapabilities: {},
      samlAuthenticated: false,
      createdAt: '2030-01-01T00:00:00.000Z',
      apiLastUsed: '2030-01-01T00:01:00.000Z',
    };
    for (const body of [
      token,
      { ...token, expiresAt: null, apiLastUsed: null },
      { code: 404, message: `id: no token ${anId}` },
    ]) {
      const { app } = answering('code' in body ? 404 : 200, body);
      const answer = await supertest(app).get(`/v2/tokens/${anId}`);
      expect(answer.body).toEqual(body);
    }
  });

  it('a malformed date-time in an answer is caught', async () => {
    const { app } = answering(200, {
      id: anId,
      name: 'x',
      description: '',
      expiresAt: 'tomorrow',
      datasetCapabilities: {},
      orgCapabilities: {},
      viewCapabilities: {},
      samlAuthenticated: false,
    });
    expect((await supertest(app).get(`/v2/tokens/${anId}`)).status).toBe(500);
  });
});
