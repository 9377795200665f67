// The contract, loaded once: the parsed openapi/openapi.yaml and the rules the code reads from it.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { Action } from './model.js';
import type { CapabilityCatalog, CapabilityKinds } from './tokens/capabilities.js';

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
  not?: SchemaObject;
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

/** The HTTP methods a path item of the spec may hold an operation under, as the spec spells them. */
export const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** '/tokens/{id}' → '/tokens/:id': a path template of the spec as Express routes it. */
export const toExpressPath = (template: string): string => template.replace(/\{([^}]+)\}/g, ':$1');

/** Reads and parses the spec. Callers that hand it to a library which mutates it should pass a structuredClone. */
export function loadSpec(path: string = specPath): OpenApiDocument {
  return parse(readFileSync(path, 'utf8')) as OpenApiDocument;
}

/**
 * Follows local references (`#/components/…`, or any JSON pointer into the document) until it
 * reaches an object with content: a schema, parameter, request body or response.
 */
export function resolveRef<T>(spec: OpenApiDocument, value: T | { $ref: string }): T {
  let current: unknown = value;
  for (let depth = 0; typeof (current as { $ref?: unknown }).$ref === 'string'; depth++) {
    const ref = (current as { $ref: string }).$ref;
    if (!ref.startsWith('#/') || depth > 32) throw new Error(`spec: cannot resolve reference ${ref}`);
    current = ref
      .slice(2)
      .split('/')
      .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'))
      .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], spec);
    if (current === undefined) throw new Error(`spec: dangling reference ${ref}`);
  }
  return current as T;
}

/** A schema with its references followed. */
export function resolveSchema(spec: OpenApiDocument, schema: SchemaObject): SchemaObject {
  return resolveRef<SchemaObject>(spec, schema as SchemaObject | { $ref: string });
}

/** The named component schema, with references resolved. */
export function componentSchema(spec: OpenApiDocument, name: string): SchemaObject {
  return resolveSchema(spec, { $ref: `#/components/schemas/${name}` });
}

function readKinds(spec: OpenApiDocument, schemaName: string): CapabilityKinds {
  const properties = componentSchema(spec, schemaName).properties ?? {};
  return new Map(
    Object.entries(properties).map(([capability, schema]) => {
      const items = resolveSchema(spec, schema).items;
      const actions = items === undefined ? undefined : resolveSchema(spec, items).enum;
      if (actions === undefined) throw new Error(`spec: ${schemaName}.${capability} has no action enum`);
      return [capability, actions as readonly Action[]];
    }),
  );
}

/** The capabilities and actions the spec defines, as the data the token rules are given at start-up. */
export function readCapabilityCatalog(spec: OpenApiDocument): CapabilityCatalog {
  return {
    org: readKinds(spec, 'OrgCapabilities'),
    scoped: {
      datasetCapabilities: readKinds(spec, 'DatasetCapabilities'),
      viewCapabilities: readKinds(spec, 'ViewCapabilities'),
    },
  };
}
