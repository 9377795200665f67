// Grant flags: each form, repeats merging, and malformed values refused with the form to use.
import { describe, expect, it } from 'vitest';
import { parseOrgGrant, scopedGrantParser } from './grants.js';

describe('parseOrgGrant', () => {
  it('reads CAPABILITY=ACTION[,ACTION] and merges repeats without duplicating actions', () => {
    const first = parseOrgGrant('apiTokens=create,read');
    expect(first).toEqual({ apiTokens: ['create', 'read'] });
    expect(parseOrgGrant('apiTokens=read,delete', parseOrgGrant('billing=read', first))).toEqual({
      apiTokens: ['create', 'read', 'delete'],
      billing: ['read'],
    });
  });

  it.each(['apiTokens', 'apiTokens=', '=read', 'apiTokens=read,', 'a=b=c', 'api Tokens=read'])(
    'refuses %j',
    (text) =>
      expect(() => parseOrgGrant(text)).toThrow(
        'expected CAPABILITY=ACTION[,ACTION], like apiTokens=create,read.',
      ),
  );
});

describe('scopedGrantParser', () => {
  const dataset = scopedGrantParser('dataset');
  it('reads NAME:CAPABILITY=ACTION[,ACTION], names and capabilities merging', () => {
    const grants = dataset(
      'logs-prod:query=read',
      dataset('*:ingest=create', dataset('logs-prod:ingest=create')),
    );
    expect(grants).toEqual({
      'logs-prod': { ingest: ['create'], query: ['read'] },
      '*': { ingest: ['create'] },
    });
  });

  it.each(['ingest=create', ':ingest=create', 'logs:', 'logs:ingest'])('refuses %j', (text) =>
    expect(() => dataset(text)).toThrow(
      'expected DATASET:CAPABILITY=ACTION[,ACTION], like logs-prod:ingest=create.',
    ),
  );

  it('names views in its message for --view', () =>
    expect(() => scopedGrantParser('view')('errors')).toThrow(
      /expected VIEW:CAPABILITY=ACTION.*errors:query=read/,
    ));

  it('keeps a __proto__ name as data, never as the prototype', () => {
    const grants = dataset('__proto__:query=read');
    expect(Object.getPrototypeOf(grants)).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(grants))).toEqual(JSON.parse('{"__proto__":{"query":["read"]}}'));
  });
});
