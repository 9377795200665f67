// The contract, loaded once: the parsed openapi/openapi.yaml and the rules the code reads from it.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** Where the one hand-written spec lives; the same path from src/ (tests) and dist/ (production). */
export const specPath = fileURLToPath(new URL('../../../openapi/openapi.yaml', import.meta.url));

/** The subset of a JSON Schema object the code reads rules from. */
export interface SchemaObject {
  $ref?: string;
  type?: string | readonly string[];
  enum?: readonly string[];
  items?: SchemaObject;
  properties?: Record<string, SchemaObject>;
  additionalProperties?: SchemaObject | boolean;
  required?: readonly string[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
  maxProperties?: number;
  allOf?: SchemaObject[];
  anyOf?: SchemaObject[];
  propertyNames?: SchemaObject;
  [keyword: string]: unknown;
}

export interface OperationObject {
  operationId: string;
  'x-required-capabilities'?: Record<string, readonly string[]>;
  [field: string]: unknown;
}

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; 'x-max-request-body-bytes': number; [field: string]: unknown };
  servers: { url: string }[];
  paths: Record<string, Record<string, OperationObject>>;
  components: { schemas: Record<string, SchemaObject>; [section: string]: unknown };
  [field: string]: unknown;
}

/** Reads and parses the spec. Callers that hand it to a library which mutates it should pass a structuredClone. */
export function loadSpec(path: string = specPath): OpenApiDocument {
  return parse(readFileSync(path, 'utf8')) as OpenApiDocument;
}

/** Follows a local `#/components/schemas/…` reference until it reaches a schema with content. */
export function resolveSchema(spec: OpenApiDocument, schema: SchemaObject): SchemaObject {
  let current = schema;
  for (let depth = 0; current.$ref !== undefined; depth++) {
    const prefix = '#/components/schemas/';
    if (!current.$ref.startsWith(prefix) || depth > 32) {
      throw new Error(`spec: cannot resolve reference ${current.$ref}`);
    }
    const target = spec.components.schemas[current.$ref.slice(prefix.length)];
    if (target === undefined) throw new Error(`spec: dangling reference ${current.$ref}`);
    current = target;
  }
  return current;
}

/** The named component schema, with references resolved. */
export function componentSchema(spec: OpenApiDocument, name: string): SchemaObject {
  return resolveSchema(spec, { $ref: `#/components/schemas/${name}` });
}
