// The grant rules as properties: a grant passes exactly when every requested action is held, whatever the sets.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { catalog } from '../../test/harness.js';
import type { Capabilities } from '../model.js';
import {
  allCapabilities,
  assertGrantable,
  type CapabilityKinds,
  normalizeCapabilities,
  SCOPED_FIELDS,
  WILDCARD,
} from './capabilities.js';
import { TokenError } from './errors.js';

/** Any subset of the actions each capability allows, shuffled and possibly empty, as a client might send it. */
const actionLists = (kinds: CapabilityKinds) =>
  fc.record(
    Object.fromEntries(
      [...kinds].map(([capability, actions]) => [capability, fc.shuffledSubarray([...actions])]),
    ),
    { requiredKeys: [] },
  );

const resourceName = fc.constantFrom(WILDCARD, 'logs', 'traces', 'metrics');

const capabilities: fc.Arbitrary<Capabilities> = fc.record({
  orgCapabilities: actionLists(catalog.org),
  datasetCapabilities: fc.dictionary(resourceName, actionLists(catalog.scoped.datasetCapabilities), {
    maxKeys: 3,
  }),
  viewCapabilities: fc.dictionary(resourceName, actionLists(catalog.scoped.viewCapabilities), { maxKeys: 3 }),
}) as fc.Arbitrary<Capabilities>;

/** Every (where, capability, action) a set of capabilities names, spelled out: the reference model. */
function grants(caps: Capabilities): string[] {
  const out: string[] = [];
  for (const [capability, actions] of Object.entries(caps.orgCapabilities)) {
    for (const action of actions ?? []) out.push(`org ${capability} ${action}`);
  }
  for (const field of SCOPED_FIELDS) {
    for (const [name, lists] of Object.entries(caps[field])) {
      for (const [capability, actions] of Object.entries(lists as Record<string, string[] | null>)) {
        for (const action of actions ?? []) out.push(`${field} ${name} ${capability} ${action}`);
      }
    }
  }
  return out;
}

function heldByModel(holder: Capabilities, grant: string): boolean {
  const held = new Set(grants(holder));
  if (held.has(grant)) return true;
  const [field, , capability, action] = grant.split(' ');
  return field !== 'org' && held.has(`${field} ${WILDCARD} ${capability} ${action}`);
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

  it('names the refused field within the requested capabilities; placed in the request, as the 400s do', () => {
    const none = { orgCapabilities: {}, datasetCapabilities: {}, viewCapabilities: {} };
    const refusal = (requested: Capabilities): TokenError => {
      try {
        assertGrantable(none, requested);
      } catch (err) {
        if (err instanceof TokenError) return err;
        throw err;
      }
      throw new Error('expected a refusal');
    };
    const org = refusal({ ...none, orgCapabilities: { billing: ['update'] } });
    expect(org.kind).toBe('forbidden');
    expect(org.message).toBe("orgCapabilities.billing: cannot grant 'update', the caller does not hold it");
    expect(org.at(['body']).message).toBe(
      "body.orgCapabilities.billing: cannot grant 'update', the caller does not hold it",
    );
    expect(
      refusal({ ...none, datasetCapabilities: { logs: { query: ['read'] } } }).at(['body', 'newToken'])
        .message,
    ).toBe(
      "body.newToken.datasetCapabilities.logs.query: cannot grant 'read', the caller does not hold it on this name or on '*'",
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

  it('orders names and actions canonically, dropping empty and null grants', () => {
    expect(
      normalizeCapabilities(catalog, {
        orgCapabilities: { users: ['delete', 'create'], billing: [], apiTokens: null },
        datasetCapabilities: {
          zeta: { query: ['read'] },
          alpha: { starredQueries: ['update', 'read'], ingest: null },
          empty: {},
        },
        viewCapabilities: null,
      }),
    ).toEqual({
      orgCapabilities: { users: ['create', 'delete'] },
      datasetCapabilities: { alpha: { starredQueries: ['read', 'update'] }, zeta: { query: ['read'] } },
      viewCapabilities: {},
    });
  });
});

describe('allCapabilities', () => {
  it('holds every capability and action the spec defines, on *', () => {
    const admin = allCapabilities(catalog);
    expect(Object.entries(admin.orgCapabilities)).toEqual([...catalog.org]);
    for (const field of SCOPED_FIELDS) {
      expect(Object.keys(admin[field])).toEqual([WILDCARD]);
      expect(Object.entries(admin[field][WILDCARD] ?? {})).toEqual([...catalog.scoped[field]]);
    }
  });
});
