// Requests (and, in development and tests, answers) checked against openapi/openapi.yaml by
// express-openapi-validator, and its refusals rewritten as messages a person can act on.

import type { Request, RequestHandler } from 'express';
import OpenApiValidator from 'express-openapi-validator';
import { closest, distance } from 'fastest-levenshtein';
import { fieldPath } from '../fieldPath.js';
import type { OpenApiDocument, SchemaObject } from '../spec.js';

/**
 * The validator's middleware for every operation of the spec. The options are the cheapest correct
 * ones (measured in docs/benchmarks.md): the spec is handed over parsed and dereferenced once;
 * authentication is ours (`validateSecurity: false`); no operation takes files; formats are
 * checked in full (the 'fast' mode accepts 2027-02-30); and nothing in a request is coerced,
 * removed or defaulted into something the client did not send, but for path and query parameters,
 * which arrive as text.
 */
export function validateAgainstSpec(
  spec: OpenApiDocument,
  { validateResponses = false } = {},
): RequestHandler[] {
  return OpenApiValidator.middleware({
    // The validator deep-clones the document before it annotates it: the caller's copy stays as read.
    apiSpec: spec as unknown as Parameters<typeof OpenApiValidator.middleware>[0]['apiSpec'],
    validateApiSpec: false,
    validateSecurity: false,
    fileUploader: false,
    validateRequests: { allowUnknownQueryParameters: false, coerceTypes: false, removeAdditional: false },
    validateResponses: validateResponses ? { coerceTypes: false, removeAdditional: false } : false,
    validateFormats: true,
    ajvFormats: { mode: 'full' },
    $refParser: { mode: 'dereference' },
  }) as RequestHandler[];
}

/** What express-openapi-validator throws: an HTTP status and one entry per problem found. */
export interface ValidatorError extends Error {
  status: number;
  path?: string;
  headers?: Record<string, string>;
  errors: { path?: string; message: string; errorCode?: string }[];
}

export function isValidatorError(err: unknown): err is ValidatorError {
  return (
    err instanceof Error &&
    typeof (err as ValidatorError).status === 'number' &&
    Array.isArray((err as ValidatorError).errors)
  );
}

/** How many problems one message lists; the rest are counted, so a hostile body cannot bloat it. */
const MAX_LISTED_PROBLEMS = 5;

/** How far off a name may be to be suggested as the one meant: a typo, not a different word. */
const MAX_SUGGESTION_DISTANCE = 2;

/** The validator's data roots, as our messages name them. */
const LOCATIONS: Record<string, string> = { body: 'body', query: 'query', params: 'path', headers: 'header' };

/** '/body/datasetCapabilities/logs~1prod/0' → ['body', 'datasetCapabilities', 'logs/prod', 0]. */
function pointerSegments(pointer: string): (string | number)[] {
  return pointer
    .split('/')
    .filter((segment) => segment !== '')
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment));
}

/** The schemas a value may match where the spec says `anyOf` (a nullable field is one). */
const alternatives = (schema: SchemaObject): SchemaObject[] => [
  schema,
  ...(schema.anyOf ?? []).flatMap(alternatives),
];

/** The schema the spec gives a field, following properties, maps and arrays from the body's. */
function schemaAt(
  root: SchemaObject | undefined,
  keys: readonly (string | number)[],
): SchemaObject | undefined {
  let current = root;
  for (const key of keys) {
    if (current === undefined) return undefined;
    const candidates = alternatives(current);
    current =
      typeof key === 'number'
        ? candidates.find((schema) => schema.items !== undefined)?.items
        : (candidates.find((schema) => schema.properties?.[key] !== undefined)?.properties?.[key] ??
          candidates
            .map((schema) => schema.additionalProperties)
            .find((schema): schema is SchemaObject => typeof schema === 'object'));
  }
  return current;
}

/** The spec's own words for a failed rule (`x-error-messages` on the schema), where it has them. */
function specMessage(schema: SchemaObject | undefined, keyword: string): string | undefined {
  if (schema === undefined) return undefined;
  for (const candidate of alternatives(schema)) {
    const messages = candidate['x-error-messages'] as Record<string, string> | undefined;
    if (messages?.[keyword] !== undefined) return messages[keyword];
  }
  return undefined;
}

/** The value sent at a path of the request. */
function valueAt(req: Request, segments: readonly (string | number)[]): unknown {
  const [location, ...keys] = segments;
  const root: unknown = location === 'body' ? req.body : location === 'query' ? req.query : undefined;
  return keys.reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], root);
}

function unknownName(name: string, allowed: readonly string[]): string {
  const suggestion = allowed.length > 0 ? closest(name, allowed as string[]) : undefined;
  if (suggestion !== undefined && distance(name, suggestion) <= MAX_SUGGESTION_DISTANCE)
    return `did you mean ${suggestion}?`;
  return allowed.length > 0 ? `the allowed ones are ${allowed.join(', ')}` : 'none are allowed here';
}

/** The operation's request body schema, dereferenced by the validator. */
function bodySchema(req: Request): SchemaObject | undefined {
  const operation = (req as { openapi?: { schema?: Record<string, unknown> } }).openapi?.schema;
  const content = (
    operation?.requestBody as { content?: Record<string, { schema?: SchemaObject }> } | undefined
  )?.content;
  return content?.['application/json']?.schema;
}

interface ParameterObject {
  name: string;
  in: string;
  schema?: SchemaObject;
}

/** An operation's parameters in one location (`query`, `path`), dereferenced by the validator. */
function parameters(req: Request, location: string): ParameterObject[] {
  const operation = (req as { openapi?: { schema?: { parameters?: ParameterObject[] } } }).openapi?.schema;
  return (operation?.parameters ?? []).filter((parameter) => parameter.in === location);
}

const parameterNames = (req: Request, location: string) => parameters(req, location).map(({ name }) => name);

/** The schema of the field at fault: within the body's schema, or a parameter's. */
function fieldSchema(
  req: Request,
  location: string,
  keys: readonly (string | number)[],
): SchemaObject | undefined {
  if (location === 'body') return schemaAt(bodySchema(req), keys);
  const [name, ...rest] = keys;
  return schemaAt(parameters(req, location).find((parameter) => parameter.name === name)?.schema, rest);
}

type Problem = { path?: string; message: string; errorCode?: string };

/**
 * A map's key that breaks `propertyNames` (a dataset or view name): the validator reports the map,
 * so the key is found again by the name rules the spec gives.
 */
function badKeys(map: unknown, names: SchemaObject | undefined): string[] {
  if (typeof map !== 'object' || map === null || names === undefined) return [];
  const pattern = typeof names.pattern === 'string' ? new RegExp(names.pattern, 'u') : undefined;
  return Object.keys(map).filter(
    (key) =>
      (names.minLength !== undefined && key.length < names.minLength) ||
      (names.maxLength !== undefined && key.length > names.maxLength) ||
      (pattern !== undefined && !pattern.test(key)),
  );
}

/** One problem in a person's words, naming the field; undefined for an echo of another problem. */
function describeProblem(req: Request, problem: Problem): string | undefined {
  const keyword = problem.errorCode?.replace(/\.openapi\.validation$/, '');
  const segments = pointerSegments(problem.path ?? '');
  const [root = 'body', ...keys] = segments;
  const location = LOCATIONS[root] ?? String(root);
  const field = fieldPath(location, keys);
  const schema = fieldSchema(req, location, keys);

  // A nullable field that fails its schema also fails the null branch and the anyOf: echoes.
  if (keyword === 'anyOf' || (keyword === 'type' && problem.message === 'must be null')) return undefined;

  if (root === 'query' && keys.length === 1 && !parameterNames(req, 'query').includes(String(keys[0]))) {
    const allowed = parameterNames(req, 'query');
    return `${field}: unknown parameter; ${allowed.length > 0 ? `this operation takes ${allowed.join(', ')}` : 'this operation takes none'}`;
  }
  // Refused before schema checks, with no keyword: a parameter given with no value.
  if (keyword === undefined && root === 'query' && /^Empty value/.test(problem.message))
    return `${field}: must not be empty; give a value or leave the parameter out`;
  switch (keyword) {
    case 'required':
      return keys.length === 0 ? `${field}: required, send a JSON object` : `${field}: required`;
    case 'additionalProperties': {
      const parent = schemaAt(bodySchema(req), keys.slice(0, -1));
      const allowed =
        parent === undefined ? [] : alternatives(parent).flatMap((s) => Object.keys(s.properties ?? {}));
      return `${field}: unknown property; ${unknownName(String(keys.at(-1)), allowed)}`;
    }
    case 'propertyNames':
      return undefined; // reported with the key by its name rule's problem, below
    case 'type':
      return `${field}: ${problem.message.replace(/,/g, ' or ')}`;
  }
  // A name rule of a map (propertyNames) fails at the map itself: find and name the bad key.
  const names =
    schema === undefined ? undefined : alternatives(schema).find((s) => s.propertyNames)?.propertyNames;
  if (names !== undefined && keyword !== undefined && keyword !== 'maxProperties') {
    const keysAtFault = badKeys(valueAt(req, segments), names);
    const rule = specMessage(names, keyword) ?? problem.message;
    if (keysAtFault.length > 0)
      return keysAtFault.map((key) => `${fieldPath(location, [...keys, key])}: ${rule}`).join('; ');
  }
  const words = keyword === undefined ? undefined : specMessage(schema, keyword);
  return `${field}: ${words ?? problem.message}`;
}

/** One message for all of a refusal's problems, each naming its field. */
export function describeValidatorError(err: ValidatorError, req: Request): string {
  const problems = [...new Set(err.errors.map((problem) => describeProblem(req, problem)))].filter(
    (problem): problem is string => problem !== undefined,
  );
  if (problems.length === 0) return err.errors[0]?.message ?? err.message;
  const listed = problems.slice(0, MAX_LISTED_PROBLEMS).join('; ');
  const more = problems.length - MAX_LISTED_PROBLEMS;
  return more > 0 ? `${listed}; and ${more} more` : listed;
}
