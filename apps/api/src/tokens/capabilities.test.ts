// The grant rules as properties: a grant passes exactly when every requested action is held, whatever the sets.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { catalog } from '../../test/harness.js';
import {
  ALL_DATASETS,
  allCapabilities,
  assertGrantable,
  type Capabilities,
  type CapabilityKinds,
  normalizeCapabilities,
} from './capabilities.js';

/** Any subset of the actions each capability allows, shuffled and possibly empty, as a client might send it. */
const actionLists = (kinds: CapabilityKinds) =>
  fc.record(
    Object.fromEntries(
      [...kinds].map(([capability, actions]) => [capability, fc.shuffledSubarray([...actions])]),
    ),
    { requiredKeys: [] },
  );

const datasetName = fc.constantFrom(ALL_DATASETS, 'logs', 'traces', 'metrics');

const capabilities: fc.Arbitrary<Capabilities> = fc.record({
  orgCapabilities: actionLists(catalog.org),
  datasetCapabilities: fc.dictionary(datasetName, actionLists(catalog.dataset), { maxKeys: 3 }),
}) as fc.Arbitrary<Capabilities>;

/** Every (where, capability, action) a set of capabilities names, spelled out: the reference model. */
function grants(caps: Capabilities): string[] {
  const out: string[] = [];
  for (const [capability, actions] of Object.entries(caps.orgCapabilities)) {
    for (const action of actions ?? []) out.push(`org ${capability} ${action}`);
  }
  for (const [dataset, lists] of Object.entries(caps.datasetCapabilities)) {
    for (const [capability, actions] of Object.entries(lists)) {
      for (const action of actions ?? []) out.push(`${dataset} ${capability} ${action}`);
    }
  }
  return out;
}

function heldByModel(holder: Capabilities, grant: string): boolean {
  const held = new Set(grants(holder));
  if (held.has(grant)) return true;
  const [where, capability, action] = grant.split(' ');
  return where !== 'org' && held.has(`${ALL_DATASETS} ${capability} ${action}`);
}

describe('assertGrantable', () => {
  it('passes exactly when every requested action is held, on the dataset or on *', () => {
    fc.assert(
      fc.property(capabilities, capabilities, (holder, requested) => {
        const expected = grants(requested).every((grant) => heldByModel(holder, grant));
        let granted = true;
        try {
          assertGrantable(holder, requested);
        } catch {
          granted = false;
        }
        expect(granted).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('lets every set of capabilities be granted by itself and by the admin', () => {
    fc.assert(
      fc.property(capabilities, (caps) => {
        expect(() => assertGrantable(caps, caps)).not.toThrow();
        expect(() => assertGrantable(allCapabilities(catalog), caps)).not.toThrow();
      }),
    );
  });
});

describe('normalizeCapabilities', () => {
  it('is idempotent and keeps exactly the grants it was given', () => {
    fc.assert(
      fc.property(capabilities, (caps) => {
        const normalized = normalizeCapabilities(catalog, caps);
        expect(normalizeCapabilities(catalog, normalized)).toEqual(normalized);
        expect(new Set(grants(normalized))).toEqual(new Set(grants(caps)));
      }),
    );
  });

  it('orders datasets by name and actions as the spec lists them, dropping empty grants', () => {
    expect(
      normalizeCapabilities(catalog, {
        orgCapabilities: { users: ['delete', 'create'], billing: [] },
        datasetCapabilities: {
          zeta: { query: ['read'] },
          alpha: { starredQueries: ['update', 'read'] },
          empty: {},
        },
      }),
    ).toEqual({
      orgCapabilities: { users: ['create', 'delete'] },
      datasetCapabilities: { alpha: { starredQueries: ['read', 'update'] }, zeta: { query: ['read'] } },
    });
  });
});

describe('allCapabilities', () => {
  it('holds every capability and action the spec defines, on *', () => {
    const admin = allCapabilities(catalog);
    expect(Object.keys(admin.orgCapabilities)).toEqual([...catalog.org.keys()]);
    expect(Object.keys(admin.datasetCapabilities)).toEqual([ALL_DATASETS]);
    for (const [capability, actions] of catalog.dataset) {
      expect((admin.datasetCapabilities[ALL_DATASETS] as Record<string, unknown>)[capability]).toEqual(
        actions,
      );
    }
  });
});
