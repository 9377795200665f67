// Validation against the spec: Ajv validators compiled from openapi/openapi.yaml at start-up, one set per operation.

import { Ajv2020, type ErrorObject, type Options, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { RequestHandler, Response } from 'express';
import { ApiError } from '../errors.js';
import { type OpenApiDocument, type OperationObject, resolveRef } from '../spec.js';
import { JSON_MEDIA_TYPE } from './charset.js';

/** The id under which the whole spec is added to Ajv, so that `$ref`s resolve inside it. */
const SPEC = 'openapi.yaml';

/** What the spec's documents look like where the validators read them. */
interface ParameterObject {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: object;
}
interface RequestBodyObject {
  required?: boolean;
  content: Record<string, { schema?: object }>;
}
interface ResponseObject {
  content?: Record<string, { schema?: object }>;
}

/** Where an operation sits in the spec; schemas are referenced by JSON pointer from here. */
export interface OperationLocation {
  path: string;
  method: string;
  operation: OperationObject;
}

/** How many problems one message lists; the rest are counted, so a hostile body cannot bloat it. */
const MAX_LISTED_PROBLEMS = 5;

const escapePointer = (segment: string) => segment.replaceAll('~', '~0').replaceAll('/', '~1');
const pointer = (...segments: string[]) => `#/${segments.map(escapePointer).join('/')}`;

/** '/body/orgCapabilities/billing/0' → 'body.orgCapabilities.billing[0]'. */
function fieldName(path: string): string {
  return path
    .split('/')
    .filter((segment) => segment !== '')
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((name, segment) => (/^\d+$/.test(segment) ? `${name}[${segment}]` : `${name}.${segment}`));
}

/** The field at fault: for a missing or unexpected property, the property itself, not its parent. */
function problemPath(location: string, error: ErrorObject): string {
  const params = error.params as { missingProperty?: string; additionalProperty?: string };
  const property = params.missingProperty ?? params.additionalProperty;
  const at = property === undefined ? error.instancePath : `${error.instancePath}/${escapePointer(property)}`;
  return `/${location}${at}`;
}

function problemMessage(error: ErrorObject): string {
  const message = error.message ?? `fails ${error.keyword}`;
  const allowed = (error.params as { allowedValues?: unknown[] }).allowedValues;
  return error.keyword === 'enum' && allowed !== undefined ? `${message}: ${allowed.join(', ')}` : message;
}

/**
 * A nullable field (`anyOf: [schema, null]`) that fails its schema also fails the null branch and
 * the anyOf itself; those two say nothing the first problem does not, so they are left out.
 */
const isAnyOfEcho = (error: ErrorObject) =>
  error.keyword === 'anyOf' || (error.keyword === 'type' && error.message === 'must be null');

/** One caller-facing message for Ajv's errors, each problem naming its field. */
export function describeProblems(location: string, errors: readonly ErrorObject[]): string {
  const specific = errors.filter((error) => !isAnyOfEcho(error));
  const problems = (specific.length > 0 ? specific : errors).map(
    (error) => `${fieldName(problemPath(location, error))}: ${problemMessage(error)}`,
  );
  const listed = problems.slice(0, MAX_LISTED_PROBLEMS).join('; ');
  const more = problems.length - MAX_LISTED_PROBLEMS;
  return more > 0 ? `${listed}; and ${more} more` : listed;
}

function assertValid(validate: ValidateFunction, data: unknown, location: string): void {
  if (!validate(data)) throw new ApiError(400, describeProblems(location, validate.errors ?? []));
}

export class SpecValidators {
  readonly #spec: OpenApiDocument;
  /** Bodies are checked as sent: a JSON string is never taken for a number. */
  readonly #strict: Ajv2020;
  /** Path and query parameters arrive as text: '20' is a valid integer there. */
  readonly #coercing: Ajv2020;

  constructor(spec: OpenApiDocument) {
    this.#spec = spec;
    const options: Options = { strict: false, strictNumbers: true, allErrors: false };
    this.#strict = new Ajv2020(options);
    this.#coercing = new Ajv2020({ ...options, coerceTypes: true });
    for (const ajv of [this.#strict, this.#coercing]) {
      addFormats.default(ajv, { mode: 'full' });
      ajv.addSchema(spec as object, SPEC);
    }
  }

  /** The parameters of one location, as one object schema; unknown names are refused. */
  #compileParameters(where: OperationLocation, location: 'path' | 'query'): ValidateFunction {
    const item = this.#spec.paths[where.path] as { parameters?: unknown[] };
    const declared = [...(item.parameters ?? []), ...((where.operation.parameters as unknown[]) ?? [])]
      .map((parameter) => resolveRef<ParameterObject>(this.#spec, parameter as ParameterObject))
      .filter((parameter) => parameter.in === location);
    const properties = Object.fromEntries(
      declared.map((parameter) => [parameter.name, parameter.schema ?? {}]),
    );
    const required = declared.filter((parameter) => parameter.required === true).map(({ name }) => name);
    return this.#coercing.compile({ type: 'object', properties, required, additionalProperties: false });
  }

  #compileRef(ajv: Ajv2020, ref: string): ValidateFunction {
    return ajv.compile({ $ref: `${SPEC}${ref}` });
  }

  /**
   * Checks a request against its operation: path and query parameters, then the body's media type
   * and content. Compiled here, at start-up; a spec the validators cannot compile stops the process.
   */
  requestValidator(where: OperationLocation): RequestHandler {
    const validatePath = this.#compileParameters(where, 'path');
    const validateQuery = this.#compileParameters(where, 'query');
    const requestBody =
      where.operation.requestBody === undefined
        ? undefined
        : resolveRef<RequestBodyObject>(this.#spec, where.operation.requestBody as RequestBodyObject);
    const mediaTypes = Object.keys(requestBody?.content ?? {});
    if (requestBody !== undefined && (mediaTypes.length !== 1 || mediaTypes[0] !== JSON_MEDIA_TYPE)) {
      throw new Error(`spec: ${where.operation.operationId} must take exactly one body, ${JSON_MEDIA_TYPE}`);
    }
    const validateBody =
      requestBody === undefined
        ? undefined
        : this.#compileRef(
            this.#strict,
            pointer('paths', where.path, where.method, 'requestBody', 'content', JSON_MEDIA_TYPE, 'schema'),
          );
    const bodyRequired = requestBody?.required === true;

    return (req, _res, next) => {
      assertValid(validatePath, { ...req.params }, 'path');
      // The query parser's object has a null prototype; Ajv wants a plain one it may coerce in.
      assertValid(validateQuery, { ...req.query }, 'query');
      // requireJsonBody has refused any other media type; an empty JSON body leaves req.body undefined.
      if (validateBody !== undefined) {
        if (req.body !== undefined) assertValid(validateBody, req.body, 'body');
        else if (bodyRequired) throw new ApiError(400, 'body: required, send a JSON object');
      }
      next();
    };
  }

  /**
   * For development and tests: answers are checked against the responses the operation documents,
   * and one that breaks them becomes a 500 (and an error log line) instead of leaving.
   */
  responseValidator(where: OperationLocation): RequestHandler {
    const responses = (where.operation.responses ?? {}) as Record<string, ResponseObject | { $ref: string }>;
    const byStatus = new Map<number, ValidateFunction>();
    for (const [status, response] of Object.entries(responses)) {
      const resolved = resolveRef<ResponseObject>(this.#spec, response);
      if (resolved.content?.[JSON_MEDIA_TYPE]?.schema === undefined) continue;
      const base =
        '$ref' in response
          ? response.$ref.slice(1)
          : pointer('paths', where.path, where.method, 'responses', status).slice(1);
      byStatus.set(
        Number(status),
        this.#compileRef(this.#strict, `#${base}${pointer('content', JSON_MEDIA_TYPE, 'schema').slice(1)}`),
      );
    }
    return (req, res, next) => {
      const send = res.json.bind(res);
      res.json = (body: unknown): Response => {
        const validate = byStatus.get(res.statusCode);
        const problem =
          validate === undefined
            ? `status ${res.statusCode} is not documented`
            : validate(body)
              ? undefined
              : describeProblems('response', validate.errors ?? []);
        if (problem === undefined) return send(body);
        req.log.error({ problem }, `the answer to ${where.operation.operationId} breaks the spec`);
        res.status(500);
        return send({ code: 500, message: 'internal server error' });
      };
      next();
    };
  }
}
