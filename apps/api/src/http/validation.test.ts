// The spec-compiled validators on their own: what they refuse, how they name it, and response checking.
import express, { type Request, type RequestHandler, type Response } from 'express';
import supertest from 'supertest';
import { describe, expect, it } from 'vitest';
import { spec } from '../../test/harness.js';
import { createLogger } from '../logger.js';
import type { OperationObject } from '../spec.js';
import { errorHandler } from './errors.js';
import { logRequests } from './requestLog.js';
import { SpecValidators } from './validation.js';

const validators = new SpecValidators(spec);

const where = (path: string, method: string) => ({
  path,
  method,
  operation: spec.paths[path]?.[method] as OperationObject,
});

/** A one-route app: the validator under test in front of `handler`. */
function appWith(validator: RequestHandler, handler: RequestHandler, route = '/tokens') {
  const logLines: string[] = [];
  const app = express();
  app.use(logRequests(app, createLogger('debug', { write: (line: string) => void logLines.push(line) })));
  app.use(express.json());
  app.all(route, validator, handler);
  app.use(errorHandler);
  return { app, logLines };
}

const echoQuery: RequestHandler = (req, res) => {
  res.json({ query: req.query });
};

describe('request validation', () => {
  const { app } = appWith(validators.requestValidator(where('/tokens', 'get')), echoQuery);

  it.each([
    ['?limit=0', 'query.limit: must be >= 1'],
    ['?limit=1001', 'query.limit: must be <= 1000'],
    ['?limit=2.5', 'query.limit: must be integer'],
    ['?limit=1&limit=2', 'query.limit: must be integer'],
    ['?cursor=', 'query.cursor: must NOT have fewer than 1 characters'],
    ['?page=2', 'query.page: must NOT have additional properties'],
  ])('refuses %s, naming the parameter', async (query, message) => {
    const answer = await supertest(app).get(`/tokens${query}`);
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ code: 400, message });
  });

  it('lets a valid query through as sent, the integer still text', async () => {
    const answer = await supertest(app).get('/tokens?limit=20&cursor=abc');
    expect(answer.body).toEqual({ query: { limit: '20', cursor: 'abc' } });
  });

  it('checks the body against the operation schema, naming the field', async () => {
    const create = appWith(validators.requestValidator(where('/tokens', 'post')), echoQuery).app;
    const wrong = await supertest(create)
      .post('/tokens')
      .send({ name: 'x', orgCapabilities: { billing: ['delete'] } });
    expect(wrong.body).toEqual({
      code: 400,
      message: 'body.orgCapabilities.billing[0]: must be equal to one of the allowed values: read, update',
    });
    const missing = await supertest(create).post('/tokens').send({ description: 'no name' });
    expect(missing.body).toEqual({ code: 400, message: "body.name: must have required property 'name'" });
    // No body at all (no Content-Length, no chunks): the parser leaves req.body undefined.
    const validate = validators.requestValidator(where('/tokens', 'post'));
    const noBody = { params: {}, query: {}, body: undefined } as unknown as Request;
    expect(() => validate(noBody, {} as Response, () => {})).toThrow('body: required, send a JSON object');
  });
});

describe('response validation', () => {
  /** GET /tokens/{id} behind its response validator, answering `status` and `body` whatever the request. */
  const answering = (status: number, body: unknown) =>
    appWith(
      validators.responseValidator(where('/tokens/{id}', 'get')),
      (_req, res) => {
        res.status(status).json(body);
      },
      '/tokens/:id',
    );

  it('turns an answer that breaks the spec into a 500 and logs what is wrong', async () => {
    const { app, logLines } = answering(200, { id: 'not what the spec says' });
    const answer = await supertest(app).get('/tokens/x');
    expect(answer.status).toBe(500);
    expect(answer.body).toEqual({ code: 500, message: 'internal server error' });
    const logged = logLines.map((line) => JSON.parse(line)).find((entry) => entry.problem !== undefined);
    expect(logged?.problem).toMatch(/^response.name: must have required property 'name'/);
  });

  it('refuses a status the operation does not document', async () => {
    const { app } = answering(409, { code: 409, message: 'conflict' });
    expect((await supertest(app).get('/tokens/x')).status).toBe(500);
  });

  it('lets a documented answer through unchanged', async () => {
    const { app } = answering(404, { code: 404, message: 'id: no token x' });
    const answer = await supertest(app).get('/tokens/x');
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({ code: 404, message: 'id: no token x' });
  });
});
