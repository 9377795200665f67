// fast-check arbitraries read off the spec's JSON Schemas, so generated requests follow the spec as it changes.
import fc from 'fast-check';
import { type OpenApiDocument, resolveSchema, type SchemaObject } from '../src/spec.js';

export interface SchemaArbitraryOptions {
  /** Most entries in a generated array or map, whatever the schema allows: keeps bodies and runs small. */
  maxEntries: number;
  /** Longest string generated in the common case; strings of exactly a schema's maxLength come too. */
  maxStringLength: number;
  /** Strings for each `format` in use: the schema names the kind, the test knows which ones it needs. */
  formats: Readonly<Record<string, fc.Arbitrary<string>>>;
  /** Strings worth trying wherever a schema accepts them: names that shadow Object.prototype, `*`, … */
  interestingStrings: readonly string[];
}

const ANNOTATIONS = ['description', 'example', 'examples', 'title', 'deprecated', '$comment'];

/** The keywords this converter understands, per JSON type; any other keyword fails loudly instead of being ignored. */
const KEYWORDS: Record<string, readonly string[]> = {
  null: [],
  boolean: [],
  integer: ['minimum', 'maximum'],
  string: ['minLength', 'maxLength', 'pattern', 'not', 'format'],
  array: ['items', 'uniqueItems', 'maxItems'],
  object: ['properties', 'required', 'additionalProperties', 'propertyNames', 'maxProperties'],
};

function expectOnly(schema: SchemaObject, keywords: readonly string[]): void {
  // Vendor extensions (`x-…`, such as x-error-messages) annotate; they never constrain.
  const unknown = Object.keys(schema).filter(
    (k) => !keywords.includes(k) && !ANNOTATIONS.includes(k) && !k.startsWith('x-'),
  );
  if (unknown.length > 0) {
    throw new Error(`arbitraries: unsupported keyword(s) ${unknown.join(', ')} in ${JSON.stringify(schema)}`);
  }
}

/** The schema behind any `$ref`s; a `$ref` with constraining siblings is refused, as resolveSchema would drop them. */
function resolved(spec: OpenApiDocument, schema: SchemaObject): SchemaObject {
  if (schema.$ref !== undefined) expectOnly(schema, ['$ref']);
  return resolveSchema(spec, schema);
}

const typesOf = (schema: SchemaObject): string[] =>
  schema.type === undefined ? [] : typeof schema.type === 'string' ? [schema.type] : [...schema.type];

/** The JSON types a schema admits, through references and `anyOf`. */
export function jsonTypes(spec: OpenApiDocument, schema: SchemaObject): Set<string> {
  const node = resolved(spec, schema);
  if (node.anyOf !== undefined) return new Set(node.anyOf.flatMap((branch) => [...jsonTypes(spec, branch)]));
  return new Set(typesOf(node));
}

/** The JSON type of a value, as JSON Schema names it ('integer' for whole numbers). */
export function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** Whether a schema admitting `types` admits a value of JSON type `type` (an integer is a number too). */
export const admitsType = (types: Set<string>, type: string): boolean =>
  types.has(type) || (type === 'integer' && types.has('number'));

/** The object-typed schema a property holds, looking through references and `anyOf` (e.g. `[map, null]`). */
export function objectBranch(spec: OpenApiDocument, schema: SchemaObject): SchemaObject | undefined {
  const node = resolved(spec, schema);
  if (node.anyOf !== undefined) {
    const branches = node.anyOf.map((branch) => objectBranch(spec, branch)).filter((b) => b !== undefined);
    if (branches.length > 1) throw new Error('arbitraries: more than one object branch in an anyOf');
    return branches[0];
  }
  return typesOf(node).includes('object') ? node : undefined;
}

/** JSON Schema counts code points, not UTF-16 units. */
export const codePoints = (value: string): number => [...value].length;

/** Whether a string meets a string schema's length and patterns (as Ajv runs patterns: unanchored, with the `u` flag). */
export function stringAcceptor(spec: OpenApiDocument, schema: SchemaObject): (value: string) => boolean {
  const node = resolved(spec, schema);
  const pattern = node.pattern === undefined ? undefined : new RegExp(node.pattern, 'u');
  // `not` is understood only as a pattern the string must not match (a name must not be blank).
  if (node.not !== undefined) expectOnly(node.not, ['pattern']);
  const notPattern = node.not?.pattern === undefined ? undefined : new RegExp(node.not.pattern, 'u');
  const min = node.minLength ?? 0;
  const max = node.maxLength ?? Number.POSITIVE_INFINITY;
  return (value) => {
    const length = codePoints(value);
    return (
      length >= min &&
      length <= max &&
      (pattern === undefined || pattern.test(value)) &&
      (notPattern === undefined || !notPattern.test(value))
    );
  };
}

const fromCodePoint = (code: number) => String.fromCodePoint(code);
const isSurrogate = (code: number) => code >= 0xd800 && code <= 0xdfff;

const printableAscii = fc.integer({ min: 0x20, max: 0x7e }).map(fromCodePoint);
/** Beyond ASCII, what tends to break text handling: spaces `\s` knows, astral pairs, format characters. */
const awkward = fc.constantFrom(
  '\u00a0',
  '\u3000',
  '\u2028',
  '\u200b',
  '\ufeff',
  'é',
  'ß',
  'Ω',
  '漢',
  '😀',
  '𝔘',
);
const anyScalar = fc
  .integer({ min: 0xa0, max: 0x10ffff })
  .filter((code) => !isSurrogate(code))
  .map(fromCodePoint);
const controls = fc
  .oneof(fc.integer({ min: 0, max: 0x1f }), fc.integer({ min: 0x7f, max: 0x9f }))
  .map(fromCodePoint);
const whitespace = fc.constantFrom(' ', '\t', '\n', '\r', '\u00a0', '\u2028', '\u3000', '\ufeff');
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));

/** Characters most text fields accept. */
const safeCharacter = fc.oneof(
  { arbitrary: printableAscii, weight: 8 },
  { arbitrary: awkward, weight: 2 },
  { arbitrary: anyScalar, weight: 1 },
);
/** Safe characters with the odd control character, kept rare so that filtering by a pattern rarely discards. */
const textCharacter = fc.oneof({ arbitrary: safeCharacter, weight: 30 }, { arbitrary: controls, weight: 1 });
/** Characters text fields tend to refuse: controls, blanks, unpaired surrogates. */
const roughCharacter = fc.oneof(
  { arbitrary: safeCharacter, weight: 2 },
  { arbitrary: controls, weight: 2 },
  { arbitrary: whitespace, weight: 3 },
  { arbitrary: loneSurrogate, weight: 1 },
);

/**
 * fast-check's regex-driven generator, where it understands the pattern. It does not know Unicode
 * property classes (`\p{…}`): there the caller generates text and filters it by the pattern instead.
 */
function patternArbitrary(pattern: string, maxLength: number): fc.Arbitrary<string> | undefined {
  if (/\\[pP]\{/.test(pattern)) return undefined;
  try {
    return fc.stringMatching(new RegExp(pattern, 'u'), Number.isFinite(maxLength) ? { maxLength } : {});
  } catch {
    return undefined;
  }
}

function stringArbitrary(
  node: SchemaObject,
  accepts: (value: string) => boolean,
  options: SchemaArbitraryOptions,
) {
  const interesting = [...options.interestingStrings, node.example].filter(
    (value): value is string => typeof value === 'string' && accepts(value),
  );
  const parts: fc.WeightedArbitrary<string>[] = [];
  if (typeof node.format === 'string') {
    const formatted = options.formats[node.format];
    if (formatted === undefined) throw new Error(`arbitraries: no arbitrary for format ${node.format}`);
    parts.push({ arbitrary: formatted, weight: 1 });
  } else {
    const min = node.minLength ?? 0;
    const max = node.maxLength ?? Number.POSITIVE_INFINITY;
    const matching = node.pattern === undefined ? undefined : patternArbitrary(node.pattern, max);
    if (matching !== undefined) {
      parts.push({ arbitrary: matching, weight: 8 });
    } else {
      const usual = Math.max(min, Math.min(max, options.maxStringLength));
      parts.push({
        arbitrary: fc.string({ unit: textCharacter, minLength: min, maxLength: usual }),
        weight: 8,
      });
      // At the limit, where counting UTF-16 units instead of code points would show.
      if (Number.isFinite(max) && max > usual) {
        parts.push({
          arbitrary: fc.string({ unit: safeCharacter, minLength: max, maxLength: max }),
          weight: 1,
        });
      }
    }
  }
  // The acceptor does not check formats: a formatted string comes from its format's arbitrary only.
  if (interesting.length > 0 && node.format === undefined) {
    parts.push({ arbitrary: fc.constantFrom(...interesting), weight: 1 });
  }
  return fc.oneof(...parts).filter(accepts);
}

/** Any value `schema` accepts, sized by `options`; throws on keywords it does not understand. */
export function schemaArbitrary(
  spec: OpenApiDocument,
  schema: SchemaObject,
  options: SchemaArbitraryOptions,
): fc.Arbitrary<unknown> {
  const node = resolved(spec, schema);
  if (node.anyOf !== undefined) {
    expectOnly(node, ['anyOf']);
    return fc.oneof(...node.anyOf.map((branch) => schemaArbitrary(spec, branch, options)));
  }
  const types = typesOf(node);
  if (node.enum !== undefined) {
    expectOnly(node, ['enum', 'type']);
    const values = node.enum.filter((value) => types.length === 0 || types.includes(jsonTypeOf(value)));
    return fc.constantFrom(...values);
  }
  if (types.length === 0) throw new Error(`arbitraries: no type in ${JSON.stringify(node)}`);
  expectOnly(node, ['type', ...types.flatMap((type) => KEYWORDS[type] ?? [type])]);
  return fc.oneof(...types.map((type) => typedArbitrary(spec, node, type, options)));
}

function typedArbitrary(
  spec: OpenApiDocument,
  node: SchemaObject,
  type: string,
  options: SchemaArbitraryOptions,
): fc.Arbitrary<unknown> {
  switch (type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return fc.integer({ min: node.minimum as number | undefined, max: node.maximum as number | undefined });
    case 'string':
      return stringArbitrary(node, stringAcceptor(spec, node), options);
    case 'array': {
      if (node.items === undefined) throw new Error('arbitraries: an array without items');
      const items = schemaArbitrary(spec, node.items, options);
      const maxLength = Math.min(node.maxItems ?? Number.POSITIVE_INFINITY, options.maxEntries);
      return node.uniqueItems === true
        ? fc.uniqueArray(items, { maxLength, selector: (item) => JSON.stringify(item) })
        : fc.array(items, { maxLength });
    }
    case 'object':
      return objectArbitrary(spec, node, options);
    default:
      throw new Error(`arbitraries: unsupported type ${type}`);
  }
}

function objectArbitrary(
  spec: OpenApiDocument,
  node: SchemaObject,
  options: SchemaArbitraryOptions,
): fc.Arbitrary<unknown> {
  const { properties, additionalProperties } = node;
  if (properties !== undefined) {
    // With extra properties allowed, which ones a valid value may carry is not in the schema.
    if (additionalProperties !== false)
      throw new Error('arbitraries: an object with properties must close them');
    const model = Object.fromEntries(
      Object.entries(properties).map(([key, property]) => [key, schemaArbitrary(spec, property, options)]),
    );
    return fc.record(model, { requiredKeys: [...(node.required ?? [])], noNullPrototype: true });
  }
  if (typeof additionalProperties !== 'object')
    throw new Error('arbitraries: an object with no value schema');
  const keys =
    node.propertyNames === undefined
      ? fc.string({ unit: safeCharacter, maxLength: options.maxStringLength })
      : (schemaArbitrary(spec, node.propertyNames, options) as fc.Arbitrary<string>);
  return fc.dictionary(keys, schemaArbitrary(spec, additionalProperties, options), {
    maxKeys: Math.min(node.maxProperties ?? Number.POSITIVE_INFINITY, options.maxEntries),
    noNullPrototype: true,
  });
}

/**
 * Strings a string schema refuses: text with controls, blanks or unpaired surrogates that breaks its
 * pattern, accepted text repeated past maxLength, and the empty string under a minLength.
 */
export function refusedStringArbitrary(
  spec: OpenApiDocument,
  schema: SchemaObject,
  options: SchemaArbitraryOptions,
): fc.Arbitrary<string> {
  const node = resolved(spec, schema);
  const accepts = stringAcceptor(spec, node);
  const parts: fc.Arbitrary<string>[] = [
    fc
      .string({ unit: roughCharacter, maxLength: options.maxStringLength })
      .filter((value) => !accepts(value)),
  ];
  const max = node.maxLength;
  if (max !== undefined) {
    const accepted = typedArbitrary(spec, node, 'string', options) as fc.Arbitrary<string>;
    parts.push(
      accepted
        .filter((value) => value.length > 0)
        .map((value) => value.repeat(Math.ceil((max + 1) / codePoints(value)))),
    );
  }
  if ((node.minLength ?? 0) > 0) parts.push(fc.constant(''));
  return fc.oneof(...parts);
}

/** Renders an instant as RFC 3339 at some UTC offset, with 0–9 fractional digits and either case of T and Z. */
function rfc3339(
  instant: number,
  offsetMinutes: number | 'Z' | 'z' | '-00:00',
  digits: number,
  subMillis: string,
  separator: 'T' | 't',
): string | undefined {
  const shift = typeof offsetMinutes === 'number' ? offsetMinutes : 0;
  const local = new Date(instant + shift * 60_000);
  const year = local.getUTCFullYear();
  if (year < 0 || year > 9999) return undefined;
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  const zone =
    typeof offsetMinutes === 'number'
      ? `${offsetMinutes < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(offsetMinutes) / 60))}:${pad(Math.abs(offsetMinutes) % 60)}`
      : offsetMinutes;
  const fraction = `${pad(local.getUTCMilliseconds(), 3)}${subMillis}`.slice(0, digits);
  return (
    `${pad(year, 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}${separator}` +
    `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}` +
    `${digits > 0 ? `.${fraction}` : ''}${zone}`
  );
}

const DAY_MS = 86_400_000;

/**
 * RFC 3339 date-times of instants in [from, to] (epoch ms), at any offset RFC 3339 allows, often close
 * to either end. Fractions beyond the millisecond only add digits that do not move the instant below `from`.
 */
export function dateTimeArbitrary(from: number, to: number): fc.Arbitrary<string> {
  const instant = fc.oneof(
    fc.integer({ min: from, max: Math.min(to, from + DAY_MS) }),
    fc.integer({ min: from, max: to }),
    fc.integer({ min: Math.max(from, to - DAY_MS), max: to }),
  );
  const offset = fc.oneof(
    fc.constantFrom<'Z' | 'z' | '-00:00'>('Z', 'z', '-00:00'),
    fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
  );
  return fc
    .record({
      instant,
      offset,
      digits: fc.integer({ min: 0, max: 9 }),
      subMillis: fc.stringMatching(/^\d{6}$/),
      separator: fc.constantFrom<'T' | 't'>('T', 't'),
    })
    .map(({ instant, offset, digits, subMillis, separator }) => {
      // Fewer than three digits cannot say the milliseconds: round the instant up to what they can say.
      const step = 10 ** Math.max(0, 3 - digits);
      const shown = Math.ceil(instant / step) * step;
      return shown <= to ? rfc3339(shown, offset, digits, subMillis, separator) : undefined;
    })
    .filter((value): value is string => value !== undefined);
}
