// createAPIToken as properties: bodies generated from the spec's schemas are created as sent, broken ones refused.
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { componentSchema, resolveSchema, type SchemaObject } from '../src/spec.js';
import {
  admitsType,
  dateTimeArbitrary,
  jsonTypeOf,
  jsonTypes,
  objectBranch,
  refusedStringArbitrary,
  type SchemaArbitraryOptions,
  schemaArbitrary,
  stringAcceptor,
} from './arbitraries.js';
import { expectAnswerMatchesSpec } from './contract.js';
import { createHarness, type Harness, spec } from './harness.js';

let harness: Harness;
// One app for the file: every run creates its own token and compares only against its own request.
beforeAll(async () => {
  harness = await createHarness();
});

const REQUEST = 'CreateAPIToken';
const request = componentSchema(spec, REQUEST);
const fields = request.properties ?? {};

// The same oracle the server's validator is built from: JSON Schema 2020-12 with full formats.
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema(spec as object, 'spec');
const specAccepts = ajv.compile({ $ref: `spec#/components/schemas/${REQUEST}` });
const isDateTime = ajv.compile({ type: 'string', format: 'date-time' });

/** Go's zero time, which the spec's prose makes mean "never expires", as Axiom's Go client sends it. */
const GO_ZERO_TIME = '0001-01-01T00:00:00Z';
/**
 * The last instant RFC 3339 can write in UTC, as answers do. The spec's DateTime refuses later ones (a
 * year-9999 date at a negative offset); the wire tests cover that edge, valid bodies stop here.
 */
const LAST_UTC_INSTANT = Date.parse('9999-12-31T23:59:59.999Z');

/** Strings that have tripped up code before: keys on Object.prototype, the wildcard, numeric keys, a long name. */
const INTERESTING = [
  '*',
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'prototype',
  '0',
  '9',
  '10',
  ' ',
  'a'.repeat(128),
];

const options = (now: number): SchemaArbitraryOptions => ({
  maxEntries: 4,
  maxStringLength: 24,
  interestingStrings: INTERESTING,
  formats: {
    'date-time': fc.oneof(
      { arbitrary: dateTimeArbitrary(now + 1, LAST_UTC_INSTANT), weight: 9 },
      { arbitrary: fc.constant(GO_ZERO_TIME), weight: 1 },
    ),
  },
});

/** A capability field of the request, found by shape: a fixed set of action lists, or a map of them by name. */
interface CapabilityField {
  field: string;
  /** The object of action lists: each property a capability, its items' enum the actions it allows. */
  lists: SchemaObject;
  /** For maps (datasets, views): the schema of the names. */
  names?: SchemaObject;
}

const capabilityFields: CapabilityField[] = Object.entries(fields).flatMap(([field, schema]) => {
  const object = objectBranch(spec, schema);
  if (object === undefined) return [];
  if (object.properties !== undefined) return [{ field, lists: object }];
  if (typeof object.additionalProperties === 'object') {
    return [{ field, lists: resolveSchema(spec, object.additionalProperties), names: object.propertyNames }];
  }
  return [];
});

/** A field's string schema, resolved, looking through `anyOf` (a nullable field is `anyOf: [string, null]`). */
function stringBranch(schema: SchemaObject): SchemaObject | undefined {
  const node = resolveSchema(spec, schema);
  if (node.anyOf !== undefined) {
    return node.anyOf.map((branch) => stringBranch(branch)).find((branch) => branch !== undefined);
  }
  return jsonTypes(spec, node).has('string') ? node : undefined;
}

/** The actions a capability allows, in the order the spec lists them. */
function actionsOf(list: SchemaObject): readonly string[] {
  const items = resolveSchema(spec, list).items;
  const actions = items === undefined ? undefined : resolveSchema(spec, items).enum;
  if (actions === undefined) throw new Error(`no action enum in ${JSON.stringify(list)}`);
  return actions;
}

const capabilitiesOf = (lists: SchemaObject) => Object.entries(lists.properties ?? {});
const ALL_ACTIONS = [
  ...new Set(capabilityFields.flatMap(({ lists }) => capabilitiesOf(lists).flatMap(([, l]) => actionsOf(l)))),
];

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** What the answer should grant: per capability the actions sent, once each, in spec order; nothing else. */
function expectedLists(lists: SchemaObject, sent: unknown): Json {
  const granted: Json = {};
  for (const [capability, list] of capabilitiesOf(lists)) {
    const actions = isObject(sent) ? sent[capability] : undefined;
    if (!Array.isArray(actions)) continue;
    const kept = actionsOf(list).filter((action) => actions.includes(action));
    if (kept.length > 0) granted[capability] = kept;
  }
  return granted;
}

function expectedCapabilities(body: Json): Json {
  return Object.fromEntries(
    capabilityFields.map(({ field, lists, names }) => {
      const sent = body[field];
      if (names === undefined) return [field, expectedLists(lists, sent)];
      const byName = Object.entries(isObject(sent) ? sent : {})
        .map(([name, perName]) => [name, expectedLists(lists, perName)] as const)
        .filter(([, granted]) => Object.keys(granted).length > 0);
      return [field, Object.fromEntries(byName)];
    }),
  );
}

function expectedExpiry(sent: unknown): string | null {
  if (sent == null || sent === GO_ZERO_TIME) return null;
  return new Date(sent as string).toISOString();
}

/**
 * One defect to put into a valid body: set (or remove) the value at `path`, or, with an empty path,
 * replace the whole body. `schemaRefuses` is false only for rules the spec states in prose.
 */
interface Mutation {
  what: string;
  path: readonly string[];
  value?: unknown;
  remove?: true;
  schemaRefuses: boolean;
}

const own = (object: Json, key: string, value: unknown) =>
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });

function applyMutation(body: Json, { path, value, remove }: Mutation): unknown {
  if (path.length === 0) return value;
  // Through JSON, as the server will see it; keys such as `__proto__` stay plain properties.
  const copy = JSON.parse(JSON.stringify(body)) as Json;
  let target = copy;
  for (const key of path.slice(0, -1)) {
    if (!Object.hasOwn(target, key) || !isObject(target[key])) own(target, key, {});
    target = target[key] as Json;
  }
  const last = path.at(-1) as string;
  if (remove) delete target[last];
  else own(target, last, value);
  return copy;
}

/** A value of a JSON type the schema does not admit. */
const wrongTypeFor = (schema: SchemaObject) => {
  const types = jsonTypes(spec, schema);
  return fc
    .oneof(
      fc.string({ maxLength: 8 }),
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
    )
    .filter((value) => !admitsType(types, jsonTypeOf(value)));
};

function mutations(now: number): fc.Arbitrary<Mutation> {
  const opts = options(now);
  const fieldNames = Object.keys(fields);
  const anyKey = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom(...INTERESTING));

  /** Where a capability list lives in a body: [field, capability] or [field, name, capability]. */
  const capabilityPlace = (field: CapabilityField, capability: fc.Arbitrary<string>) =>
    field.names === undefined
      ? capability.map((c) => [field.field, c])
      : fc
          .tuple(schemaArbitrary(spec, field.names, opts) as fc.Arbitrary<string>, capability)
          .map(([name, c]) => [field.field, name, c]);

  const listSlots = capabilityFields.flatMap((field) =>
    capabilitiesOf(field.lists).map(([capability, list]) => ({ field, capability, list })),
  );

  const kinds: fc.Arbitrary<Mutation>[] = [
    anyKey
      .filter((key) => !Object.hasOwn(fields, key))
      .chain((key) =>
        fc.jsonValue({ maxDepth: 1 }).map((value) => ({
          what: 'an unknown top-level property',
          path: [key],
          value,
          schemaRefuses: true,
        })),
      ),
    fc.constantFrom(...fieldNames).chain((field) =>
      wrongTypeFor(fields[field] as SchemaObject).map((value) => ({
        what: 'a field of the wrong type',
        path: [field],
        value,
        schemaRefuses: true,
      })),
    ),
    fc.constantFrom(...(request.required ?? [])).map((field) => ({
      what: 'a required field left out',
      path: [field],
      remove: true as const,
      schemaRefuses: true,
    })),
    fc.constantFrom(...listSlots).chain(({ field, capability, list }) => {
      const allowed = actionsOf(list);
      const foreign = ALL_ACTIONS.filter((action) => !allowed.includes(action));
      const outside = fc.oneof(
        ...(foreign.length > 0 ? [fc.constantFrom(...foreign)] : []),
        fc.string({ maxLength: 8 }).filter((action) => !allowed.includes(action)),
        fc.constantFrom(...allowed).map((action) => action.toUpperCase()),
      );
      return fc
        .tuple(capabilityPlace(field, fc.constant(capability)), fc.shuffledSubarray([...allowed]), outside)
        .map(([path, valid, bad]) => ({
          what: "an action outside the capability's enum",
          path,
          value: [...valid, bad],
          schemaRefuses: true,
        }));
    }),
    fc
      .constantFrom(...listSlots.filter(({ list }) => resolveSchema(spec, list).uniqueItems === true))
      .chain(({ field, capability, list }) =>
        fc
          .tuple(capabilityPlace(field, fc.constant(capability)), fc.constantFrom(...actionsOf(list)))
          .map(([path, action]) => ({
            what: 'an action listed twice',
            path,
            value: [action, action],
            schemaRefuses: true,
          })),
      ),
    fc.constantFrom(...capabilityFields).chain((field) =>
      fc
        .tuple(
          capabilityPlace(
            field,
            anyKey.filter((key) => !Object.hasOwn(field.lists.properties ?? {}, key)),
          ),
          fc.oneof(fc.constant(null), fc.subarray(ALL_ACTIONS)),
        )
        .map(([path, value]) => ({
          what: 'an unknown capability',
          path,
          value,
          schemaRefuses: true,
        })),
    ),
    ...Object.entries(fields)
      .filter(
        ([, schema]) => jsonTypes(spec, schema).has('string') && stringBranch(schema)?.format === undefined,
      )
      .map(([field, schema]) =>
        refusedStringArbitrary(spec, schema, opts).map((value) => ({
          what: `${field}: a string the schema refuses`,
          path: [field],
          value,
          schemaRefuses: true,
        })),
      ),
    ...capabilityFields
      .filter((field) => field.names !== undefined)
      .map((field) =>
        fc
          .tuple(
            refusedStringArbitrary(spec, field.names as SchemaObject, opts),
            schemaArbitrary(spec, field.lists, opts),
          )
          .map(([name, lists]) => ({
            what: 'a name that breaks the pattern',
            path: [field.field, name],
            value: lists,
            schemaRefuses: true,
          })),
      ),
    ...capabilityFields
      .filter(({ field }) => objectBranch(spec, fields[field] as SchemaObject)?.maxProperties !== undefined)
      .map(({ field, names }) => {
        const most = objectBranch(spec, fields[field] as SchemaObject)?.maxProperties as number;
        const validName = names === undefined ? () => true : stringAcceptor(spec, names);
        const many = Array.from({ length: most + 1 }, (_, i) => `n${i}`);
        expect(many.every(validName)).toBe(true);
        return fc.constant<Mutation>({
          what: 'more names than maxProperties',
          path: [field],
          value: Object.fromEntries(many.map((name) => [name, {}])),
          schemaRefuses: true,
        });
      }),
    ...Object.entries(fields)
      .filter(([, schema]) => stringBranch(schema)?.format === 'date-time')
      .flatMap(([field]) => [
        // The spec's prose: an expiry is in the future; Go's zero time, the one past instant allowed,
        // is left out. A start (notBefore) may be past: the token works at once.
        ...(field === 'notBefore'
          ? []
          : [
              dateTimeArbitrary(Date.parse('0001-01-01T00:00:00.001Z'), now).map((value) => ({
                what: `${field}: not in the future`,
                path: [field],
                value,
                schemaRefuses: false,
              })),
            ]),
        fc
          .oneof(
            dateTimeArbitrary(now + 1, LAST_UTC_INSTANT).map((value) =>
              value.replace(/([Zz]|[+-]\d\d:\d\d)$/, ''),
            ),
            dateTimeArbitrary(now + 1, LAST_UTC_INSTANT).map((value) =>
              value.replace(/^(\d{4})-\d\d/, '$1-13'),
            ),
            fc.string({ maxLength: 24 }),
          )
          .filter((value) => !isDateTime(value))
          .map((value) => ({
            what: `${field}: not a date-time`,
            path: [field],
            value,
            schemaRefuses: true,
          })),
      ]),
    // The prose's CIDR notation: a string the schema admits that is no network.
    fc
      .tuple(
        fc.uniqueArray(fc.constantFrom(...VALID_CIDRS), { maxLength: 3 }),
        fc.oneof(
          fc.string({ minLength: 1, maxLength: 12 }).filter((text) => !/^[0-9a-f:.]+(\/\d+)?$/i.test(text)),
          fc.constantFrom('10.0.0.0/33', '2001:db8::/129', '1.2.3', '010.0.0.1/8', 'fe80::1%eth0'),
        ),
      )
      .map(([valid, bad]) => ({
        what: 'allowedCidrs: a string that is no network',
        path: ['allowedCidrs'],
        value: [...valid, bad],
        schemaRefuses: false,
      })),
    fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 2 }).map((value) => ({
      what: 'a body that is not an object',
      path: [],
      value,
      schemaRefuses: true,
    })),
  ];
  return fc.oneof(...kinds);
}

/**
 * Networks the spec's schema cannot tell from any other string (CIDR notation is the rules' to read),
 * so valid bodies take theirs from these, already in normalised form.
 */
const VALID_CIDRS = [
  '10.0.0.0/8',
  '203.0.113.0/24',
  '198.51.100.7/32',
  '2001:db8::/32',
  '2001:db8::1/128',
  '::/0',
  '0.0.0.0/0',
];

/** A date-time as a body sends it, as an instant; undefined for none (null, absent, Go's zero time). */
const instantOf = (sent: unknown) =>
  typeof sent === 'string' && sent !== GO_ZERO_TIME ? Date.parse(sent) : undefined;

/**
 * A valid body from the spec's schema, with what the prose adds: networks that are networks, and a
 * start (notBefore) before the end (expiresAt), else none.
 */
const validBody = (now: number) =>
  fc
    .tuple(
      schemaArbitrary(spec, request, options(now)) as fc.Arbitrary<Json>,
      fc.uniqueArray(fc.constantFrom(...VALID_CIDRS), { maxLength: 4 }),
    )
    .map(([body, cidrs]) => {
      const valid: Json = { ...body };
      if (Array.isArray(body.allowedCidrs)) valid.allowedCidrs = cidrs;
      const start = instantOf(body.notBefore);
      const end = instantOf(body.expiresAt);
      if (start !== undefined && end !== undefined && end <= start) delete valid.notBefore;
      return valid;
    });

/** What an answer says of the networks and start a body asked for: each only when set. */
function expectedPlace(body: Json): Json {
  const start = instantOf(body.notBefore);
  return {
    ...(Array.isArray(body.allowedCidrs) && body.allowedCidrs.length > 0
      ? { allowedCidrs: body.allowedCidrs }
      : {}),
    ...(start === undefined ? {} : { notBefore: new Date(start).toISOString() }),
  };
}

describe('createAPIToken, properties over bodies generated from the spec', () => {
  it('finds the capability fields and their actions in the spec', () => {
    expect(capabilityFields.some(({ names }) => names === undefined)).toBe(true);
    expect(capabilityFields.some(({ names }) => names !== undefined)).toBe(true);
    expect(ALL_ACTIONS.length).toBeGreaterThan(0);
  });

  it('creates every valid body as sent: 200, an answer the spec accepts, reflecting the request', async () => {
    const now = harness.clock().getTime();
    await fc.assert(
      fc.asyncProperty(validBody(now), async (body) => {
        expect(specAccepts(body), JSON.stringify(specAccepts.errors)).toBe(true);
        const before = await harness.store.count();

        const answer = await harness.createToken(harness.adminSecret, body);

        expect(answer.status, answer.text).toBe(200);
        expectAnswerMatchesSpec(answer, 'post', '/tokens');
        expect(answer.body).toEqual({
          id: expect.any(String),
          name: body.name,
          description: body.description ?? '',
          expiresAt: expectedExpiry(body.expiresAt),
          ...expectedCapabilities(body),
          ...expectedPlace(body),
          samlAuthenticated: false,
          createdAt: new Date(now).toISOString(),
          apiLastUsed: null,
          token: expect.any(String),
        });
        expect(await harness.store.count()).toBe(before + 1);
      }),
      { numRuns: 150 },
    );
  });

  it('refuses every body with one defect: a 4xx the spec documents, never a 5xx, nothing stored', async () => {
    const now = harness.clock().getTime();
    await fc.assert(
      fc.asyncProperty(validBody(now), mutations(now), async (body, mutation) => {
        const mutated = applyMutation(body, mutation);
        expect(specAccepts(mutated), 'the schema accepts this defect').toBe(!mutation.schemaRefuses);
        const before = await harness.store.count();

        const answer = await harness.createToken(harness.adminSecret, mutated);

        expect(answer.status, answer.text).toBeGreaterThanOrEqual(400);
        expect(answer.status, answer.text).toBeLessThan(500);
        expectAnswerMatchesSpec(answer, 'post', '/tokens');
        expect(answer.body.code).toBe(answer.status);
        expect(await harness.store.count()).toBe(before);
      }),
      { numRuns: 200 },
    );
  });
});
