// Checks an answer against what the spec says that operation answers with that status: the spec is the oracle.
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type supertest from 'supertest';
import { expect } from 'vitest';
import { spec } from './harness.js';

// OpenAPI 3.1 schemas are JSON Schema 2020-12.
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema(spec as object, 'spec');

const pointer = (...segments: string[]) =>
  segments.map((s) => s.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

interface Answer {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

/** Fails unless the spec documents `status` for this operation and the body matches its schema. */
export function expectAnswerMatchesSpec(answer: Answer, method: string, path: string): void {
  const operation = spec.paths[path]?.[method] as
    | { responses?: Record<string, { $ref?: string }> }
    | undefined;
  expect(operation, `${method} ${path} is in the spec`).toBeDefined();
  const response = operation?.responses?.[String(answer.status)];
  expect(response, `${method} ${path} documents status ${answer.status}`).toBeDefined();
  const ref =
    response?.$ref !== undefined
      ? `spec${response.$ref}/content/application~1json/schema`
      : `spec#/${pointer('paths', path, method, 'responses', String(answer.status), 'content', 'application/json', 'schema')}`;
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  const validate = ajv.getSchema(ref) ?? ajv.compile({ $ref: ref });
  const valid = validate(answer.body);
  expect(validate.errors ?? [], `answer ${JSON.stringify(answer.body)} matches ${ref}`).toEqual([]);
  expect(valid).toBe(true);
}

/**
 * Awaits a request and checks its answer: the status, its conformance to the spec for
 * `method path`, and, for errors, that `{ code, message }` agrees with the status and the message
 * says what it should.
 */
export async function expectAnswer(
  request: PromiseLike<supertest.Response>,
  method: string,
  path: string,
  status: number,
  message?: string | RegExp,
): Promise<supertest.Response> {
  const answer = await request;
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  if (status !== 204) expectAnswerMatchesSpec(answer, method, path);
  if (status >= 400) expect(answer.body.code).toBe(status);
  if (message !== undefined) expect(answer.body.message).toMatch(message);
  return answer;
}
