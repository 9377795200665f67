// Hostile input: every malformed, oversized or adversarial request gets a 4xx `{ code, message }` and changes nothing.
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import supertest from 'supertest';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { componentSchema } from '../src/spec.js';
import { expectAnswer } from './contract.js';
import { createHarness, expectNoTokenChangeAfterEach, type Harness, spec } from './harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
});
expectNoTokenChangeAfterEach(() => harness);
afterEach(() => {
  // Nothing a body said was merged into shared objects.
  expect(Object.prototype).not.toHaveProperty('polluted');
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});

/** Sends raw bytes as the admin, so the test controls exactly what goes on the wire. */
const sendRaw = (body: string | Buffer, contentType = 'application/json') =>
  supertest(harness.app)
    .post('/v2/tokens')
    .set('Authorization', `Bearer ${harness.adminSecret}`)
    .set('Content-Type', contentType)
    .serialize((raw) => raw) // the bytes as given, not re-encoded as JSON
    .send(body);

const refused = async (
  request: PromiseLike<supertest.Response>,
  status: number,
  message?: string | RegExp,
) => {
  await expectAnswer(request, 'post', '/tokens', status, message);
};

const createAs = (body: unknown) => harness.createToken(harness.adminSecret, body);

describe('structure', () => {
  it('deeply nested JSON', async () => {
    const depth = 20_000;
    await refused(sendRaw(`{"name":"x","description":${'['.repeat(depth)}${']'.repeat(depth)}}`), 400);
    await refused(sendRaw(`${'['.repeat(depth)}${']'.repeat(depth)}`), 400);
  });
  it('deeply nested arrays inside an action list (uniqueItems must not recurse without bound)', async () => {
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    await refused(sendRaw(`{"name":"x","orgCapabilities":{"users":[${deep},${deep}]}}`), 400);
  });
  it.each(['"just a string"', '42', 'null', 'true', '[]', '[{"name":"x"}]', ''])('a top-level %s', (body) =>
    refused(sendRaw(body), 400, 'body'),
  );
});

describe('types', () => {
  const properties = Object.keys(componentSchema(spec, 'CreateAPIToken').properties ?? {});
  const wrongValues: [string, unknown][] = [
    ['a number', 7],
    ['a boolean', true],
    ['an array', ['x']],
    ['an object', { x: 1 }],
  ];
  describe.each(properties)('body.%s', (property) => {
    it.each(wrongValues)('as %s', async (_, value) => {
      const answer = await createAs({ name: 'x', [property]: value });
      expect(answer.status, JSON.stringify(answer.body)).toBe(400);
      expect(answer.body.message).toContain(`body.${property}`);
    });
  });
});

describe('strings', () => {
  const nameLimit = componentSchema(spec, 'CreateAPIToken').properties?.name?.maxLength ?? 0;
  it.each([
    ['blank', ' \n\t '],
    ['over the limit', 'x'.repeat(nameLimit + 1)],
    ['holding NUL', 'a\u0000b'],
    ['holding a control character', 'bell\u0007'],
    ['holding DEL', 'a\u007f'],
    ['holding a lone high surrogate', 'a\ud800b'],
    ['holding a lone low surrogate', '\udc00'],
  ])('a name %s', (_, name) => refused(createAs({ name }), 400, 'body.name'));
  it.each([
    ['NUL', 'a\u0000'],
    ['a lone surrogate', '\ud83d'],
    ['an escape character', '\u001b[31m'],
  ])('a description holding %s', (_, description) =>
    refused(createAs({ name: 'x', description }), 400, 'body.description'),
  );
  it('a huge string within the body limit', () =>
    refused(createAs({ name: 'x'.repeat(60_000) }), 400, 'body.name'));
  it('invalid UTF-8', () =>
    refused(
      sendRaw(Buffer.from([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d])),
      400,
      'UTF-8',
    ));
  it('UTF-8 encoded surrogates (CESU-8)', () =>
    refused(sendRaw(Buffer.from('{"name":"\xed\xa0\x80"}', 'latin1')), 400, 'UTF-8'));
});

describe('prototype pollution', () => {
  it.each(['__proto__', 'constructor', 'prototype'])('a top-level %s key', (key) =>
    refused(sendRaw(`{"name":"x","${key}":{"polluted":true}}`), 400, `body.${key}`),
  );
  it.each(['__proto__', 'constructor', 'prototype'])('an orgCapabilities.%s key', (key) =>
    refused(
      sendRaw(`{"name":"x","orgCapabilities":{"${key}":{"polluted":true}}}`),
      400,
      'body.orgCapabilities',
    ),
  );
  it('a __proto__ dataset name', () =>
    refused(
      sendRaw('{"name":"x","datasetCapabilities":{"__proto__":{"query":["read"]}}}'),
      400,
      'body.datasetCapabilities',
    ));
  it('a __proto__ key inside a dataset', () =>
    refused(
      sendRaw('{"name":"x","datasetCapabilities":{"logs":{"__proto__":{"polluted":true}}}}'),
      400,
      'body.datasetCapabilities.logs',
    ));
});

describe('sizes and repetition', () => {
  const maxDatasets = componentSchema(spec, 'DatasetCapabilitiesMap').maxProperties ?? 0;
  it('one dataset more than the limit', () => {
    const datasets = Object.fromEntries(
      Array.from({ length: maxDatasets + 1 }, (_, i) => [`d${i}`, { query: ['read'] }]),
    );
    return refused(createAs({ name: 'x', datasetCapabilities: datasets }), 400, 'body.datasetCapabilities');
  });
  it('thousands of repeated actions', () =>
    refused(
      createAs({ name: 'x', orgCapabilities: { users: Array.from({ length: 5000 }, () => 'read') } }),
      400,
      'body.orgCapabilities.users',
    ));
  it('thousands of unknown properties, with a bounded message', async () => {
    const body = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`p${i}`, i]));
    const answer = await expectAnswer(createAs({ name: 'x', ...body }), 'post', '/tokens', 400);
    expect(answer.body.message.length).toBeLessThan(1000);
  });
});

describe('dates', () => {
  it.each([
    ['February 30th', '2031-02-30T00:00:00Z'],
    ['hour 25', '2031-01-01T25:00:00Z'],
    ['no zone', '2031-01-01T00:00:00'],
    ['a year of six digits', '+275760-09-13T00:00:00Z'],
    ['a Unix timestamp', 1_900_000_000],
    ['an empty string', ''],
    ['the year 0000, in the past', '0000-01-01T00:00:00Z'],
  ])('an expiresAt of %s', (_, expiresAt) =>
    refused(createAs({ name: 'x', expiresAt }), 400, 'body.expiresAt'),
  );
});

describe('content types', () => {
  it.each([
    ['text/plain', 'text/plain'],
    ['form data', 'application/x-www-form-urlencoded'],
    ['JSON in UTF-16', 'application/json; charset=utf-16'],
    ['JSON in Latin-1', 'application/json; charset=iso-8859-1'],
    ['a malformed media type', 'application/json; charset'],
    ['multipart', 'multipart/form-data; boundary=x'],
  ])('%s', (_, contentType) => refused(sendRaw('{"name":"x"}', contentType), 415, 'Content-Type'));
});

describe('content encodings', () => {
  it.each(['gzip', 'deflate', 'br'])('a body that claims %s and is not', (encoding) =>
    refused(sendRaw('{"name":"x"}').set('Content-Encoding', encoding), 400, /^body: .*Content-Encoding/),
  );
  it.each(['zstd', 'x-gzip', 'compress', 'gzip, br', 'identity, gzip'])(
    'an encoding the server does not decode: %s',
    (encoding) => refused(sendRaw('{"name":"x"}').set('Content-Encoding', encoding), 415, 'Content-Encoding'),
  );
  it.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
    ['GZIP', gzipSync],
  ] as const)('a body really in %s is decoded, so its content is what is checked', (encoding, compress) =>
    refused(
      sendRaw(compress('{"name":"x","description":1}')).set('Content-Encoding', encoding),
      400,
      'body.description',
    ),
  );
  it('a real zstd body is refused too, on Node versions whose zlib could decode it', () => {
    // {"name":"x","description":1} in zstd: decoded, it would answer 400 on body.description instead.
    const zstdBody = Buffer.from('KLUv/SAc4QAAeyJuYW1lIjoieCIsImRlc2NyaXB0aW9uIjoxfQ==', 'base64');
    return refused(sendRaw(zstdBody).set('Content-Encoding', 'zstd'), 415, 'Content-Encoding');
  });
});

describe('authorization headers', () => {
  const withHeader = (value: string) =>
    supertest(harness.app).post('/v2/tokens').set('Authorization', value).send({ name: 'x' });
  it.each([
    ['a huge bearer token', `Bearer ${'a'.repeat(8000)}`],
    ['a token of non-ASCII characters', 'Bearer tökén'],
    ['two bearer tokens', `Bearer ${'a'.repeat(10)}, Bearer ${'b'.repeat(10)}`],
    ['Digest', 'Digest username="x"'],
    ['only spaces after the scheme', 'Bearer    '],
    ['a tab instead of a space', `Bearer\t${'a'.repeat(48)}`],
  ])('%s', async (_, value) => {
    const answer = await expectAnswer(withHeader(value), 'post', '/tokens', 401, 'Authorization');
    expect(JSON.stringify(answer.body)).not.toContain(value.slice(7, 40).trim() || '\u0000');
  });
  it.each(['BEARER', 'bearer', 'BeArEr'])('the scheme spelled %s is accepted', (scheme) =>
    refused(
      withHeader(`${scheme} ${harness.adminSecret}`).send({ name: 'x', description: 1 }),
      400,
      'body.description',
    ),
  );
});

describe('routes, methods, ids and query strings', () => {
  const as = () => harness.as(harness.adminSecret);
  it.each(['/nothing', '/tokens/a/b/c', '/tokens%00', '/../../etc/passwd'])('GET /v2%s', async (path) => {
    const answer = await as().get(path);
    expect([400, 404]).toContain(answer.status);
    expect(answer.body).toEqual({ code: answer.status, message: expect.any(String) });
  });
  it.each(['patch', 'put'] as const)('%s /v2/tokens is 405 with Allow', async (method) => {
    const answer = await supertest(harness.app)
      [method]('/v2/tokens')
      .set('Authorization', `Bearer ${harness.adminSecret}`);
    expect(answer.status).toBe(405);
    expect(answer.body).toEqual({ code: 405, message: expect.stringContaining(method.toUpperCase()) });
    expect(answer.headers.allow).toMatch(/GET/);
  });
  it.each([
    ['a very long id', 'f'.repeat(5000)],
    ['an id of spaces', '%20%20%20'],
    ['an id holding NUL', 'abc%00def'],
    ['an id of invalid percent-encoding', '%E0%A4%A'],
  ])('%s', async (_, id) => {
    const answer = await as().get(`/tokens/${id}`);
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ code: 400, message: expect.any(String) });
  });
  it.each([
    ['a repeated limit', '?limit=1&limit=2'],
    ['a limit that is an object', '?limit[a]=1'],
    ['a huge limit', `?limit=${'9'.repeat(400)}`],
    ['a cursor of invalid characters', '?cursor=%00%01'],
    ['thousands of parameters', `?${Array.from({ length: 2000 }, (_, i) => `p${i}=1`).join('&')}`],
  ])('%s', async (_, query) => {
    await expectAnswer(as().get(`/tokens${query}`), 'get', '/tokens', 400);
  });
});
