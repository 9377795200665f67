// Names a requirement may hold: exactly what the spec's DatasetName and ViewName accept.
import { describe, expect, it } from 'vitest';
import { invalidName } from './names.js';

describe('invalidName', () => {
  it.each(['logs', 'logs-prod', 'a.b_c-d', '0', '*', 'x'.repeat(128)])(
    'accepts the dataset and view name %s',
    (name) => {
      expect(invalidName({ datasetCapabilities: { [name]: { ingest: ['create'] } } })).toBeUndefined();
      expect(invalidName({ viewCapabilities: { [name]: { query: ['read'] } } })).toBeUndefined();
    },
  );

  it.each(['', '-bad', '.hidden', 'logs/prod', 'a b', 'ä', 'x'.repeat(129), '**'])(
    'refuses the name %j',
    (name) => {
      expect(invalidName({ datasetCapabilities: { [name]: { ingest: ['create'] } } })).toMatch(
        new RegExp(
          `^${JSON.stringify(name.slice(0, 140)).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.* is not a valid dataset name: use 1 to 128 letters`,
        ),
      );
      expect(invalidName({ viewCapabilities: { [name]: { query: ['read'] } } })).toMatch(
        /is not a valid view name/,
      );
    },
  );

  it('accepts no requirement at all, and null parts', () => {
    expect(invalidName(undefined)).toBeUndefined();
    expect(
      invalidName({ datasetCapabilities: null, viewCapabilities: null, orgCapabilities: null }),
    ).toBeUndefined();
  });
});
