import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CAPABILITIES, grantableOn, grantsOf, scopeName, toggle } from './capabilities';

interface Spec {
  components: {
    schemas: Record<
      string,
      { properties?: Record<string, { $ref: string }>; items?: { $ref: string }; enum?: string[] }
    >;
  };
}
const spec = parse(
  readFileSync(fileURLToPath(new URL('../../../openapi/openapi.yaml', import.meta.url)), 'utf8'),
) as Spec;
const schema = (ref: string) => spec.components.schemas[ref.replace('#/components/schemas/', '')] ?? {};

describe('CAPABILITIES', () => {
  it.each([
    ['orgCapabilities', 'OrgCapabilities'],
    ['datasetCapabilities', 'DatasetCapabilities'],
    ['viewCapabilities', 'ViewCapabilities'],
  ] as const)('has every capability of %s with the actions the spec allows it', (kind, name) => {
    const properties = spec.components.schemas[name]?.properties ?? {};
    expect([...CAPABILITIES[kind].keys()]).toEqual(Object.keys(properties));
    for (const [capability, { $ref }] of Object.entries(properties)) {
      const actions = schema(schema($ref).items?.$ref ?? '').enum;
      expect(CAPABILITIES[kind].get(capability), capability).toEqual(actions);
    }
  });
});

describe('grantableOn', () => {
  const held = { '*': { query: ['read' as const] }, logs: { ingest: ['create' as const] } };

  it('offers on a name what is held there and on *', () => {
    expect(grantableOn(held, 'logs')).toEqual({ ingest: ['create'], query: ['read'] });
    expect(grantableOn(held, 'traces')).toEqual({ query: ['read'] });
  });

  it('offers on * only what is held on *', () => {
    expect(grantableOn(held, '*')).toEqual({ query: ['read'] });
    expect(grantableOn({ logs: { ingest: ['create'] } }, '*')).toEqual({});
  });
});

describe('toggle', () => {
  it('keeps actions in the spec order and drops a capability left with none', () => {
    const granted = toggle(toggle({}, 'apiTokens', 'delete', true), 'apiTokens', 'create', true);
    expect(granted).toEqual({ apiTokens: ['create', 'delete'] });
    expect(toggle(toggle(granted, 'apiTokens', 'create', false), 'apiTokens', 'delete', false)).toEqual({});
  });
});

describe('grantsOf', () => {
  it('leaves out null and empty action lists, as answers do', () => {
    expect(grantsOf({ apiTokens: ['read', 'create'], billing: null, users: [] })).toEqual({
      apiTokens: ['create', 'read'],
    });
  });
});

describe('scopeName', () => {
  it('reads * as all datasets or all views', () => {
    expect(scopeName('datasetCapabilities', '*')).toBe('all datasets');
    expect(scopeName('viewCapabilities', '*')).toBe('all views');
    expect(scopeName('viewCapabilities', 'errors')).toBe('errors');
  });
});
