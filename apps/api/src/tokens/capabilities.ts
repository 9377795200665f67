// Capability sets: the catalog of capabilities and actions (handed in from the spec at start-up), their canonical form, and the grant rules.
import type { Action, ActionLists, Capabilities, ScopedCapabilities } from '../model.js';
import { TokenError } from './errors.js';

/** The key that stands for every dataset (or view), present and future. */
export const WILDCARD = '*';

/** The capability fields keyed by a resource name (dataset, view), where `*` covers every name. */
export const SCOPED_FIELDS = ['datasetCapabilities', 'viewCapabilities'] as const;
export type ScopedField = (typeof SCOPED_FIELDS)[number];

/** Capability name → the actions it allows, in the order the spec lists them. */
export type CapabilityKinds = ReadonlyMap<string, readonly Action[]>;

/** Which capabilities exist and what each allows: data read from the spec at start-up (spec.ts). */
export interface CapabilityCatalog {
  org: CapabilityKinds;
  /** Per scoped field, the capabilities one dataset (view) can have. */
  scoped: Readonly<Record<ScopedField, CapabilityKinds>>;
}

/** A loose view of a capability object as a request may carry it: capability name → actions (null: not granted). */
type RequestedActionLists = Readonly<Record<string, readonly string[] | null | undefined>>;

/** A loose view of a requested scoped capability map: resource name → action lists. */
type RequestedScoped = Readonly<Record<string, RequestedActionLists | null | undefined>>;

/** Every capability with every action it allows, on `*`; what the bootstrap admin token holds. */
export function allCapabilities(catalog: CapabilityCatalog): Capabilities {
  const everything = (kinds: CapabilityKinds) => Object.fromEntries(kinds);
  return {
    datasetCapabilities: { [WILDCARD]: everything(catalog.scoped.datasetCapabilities) },
    orgCapabilities: everything(catalog.org),
    viewCapabilities: { [WILDCARD]: everything(catalog.scoped.viewCapabilities) },
  };
}

/** Canonical action lists: capabilities in spec order, actions in spec order without repeats, empty lists dropped. */
function normalizeActionLists(
  kinds: CapabilityKinds,
  lists: RequestedActionLists | null | undefined,
): ActionLists {
  const normalized: Record<string, Action[]> = {};
  if (lists == null) return normalized;
  for (const [capability, allowed] of kinds) {
    const requested = lists[capability];
    if (requested == null) continue;
    const actions = allowed.filter((action) => requested.includes(action));
    if (actions.length > 0) normalized[capability] = actions;
  }
  return normalized;
}

/** Names sorted, each name's lists normalized, names granting nothing dropped. */
function normalizeScoped(
  kinds: CapabilityKinds,
  scoped: RequestedScoped | null | undefined,
): ScopedCapabilities {
  const normalized: Record<string, ActionLists> = {};
  for (const name of Object.keys(scoped ?? {}).sort()) {
    const lists = normalizeActionLists(kinds, scoped?.[name]);
    if (Object.keys(lists).length > 0) normalized[name] = lists;
  }
  return normalized;
}

/** Capabilities as a request may carry them: any part absent or null, any list null. */
export interface RequestedCapabilities {
  datasetCapabilities?: RequestedScoped | null;
  orgCapabilities?: RequestedActionLists | null;
  viewCapabilities?: RequestedScoped | null;
}

/**
 * The canonical form in which capabilities are stored and answered: a token reads back the same
 * however its grants were ordered, repeated or nulled.
 */
export function normalizeCapabilities(
  catalog: CapabilityCatalog,
  requested: RequestedCapabilities,
): Capabilities {
  return {
    datasetCapabilities: normalizeScoped(catalog.scoped.datasetCapabilities, requested.datasetCapabilities),
    orgCapabilities: normalizeActionLists(catalog.org, requested.orgCapabilities),
    viewCapabilities: normalizeScoped(catalog.scoped.viewCapabilities, requested.viewCapabilities),
  };
}

/**
 * The actions `lists` grants for `key`, reading own properties only: keys come from requests, and
 * a dataset named `constructor` must not find Object.prototype's.
 */
function own<T>(lists: Readonly<Record<string, T>> | null | undefined, key: string): T | undefined {
  return lists != null && Object.hasOwn(lists, key) ? lists[key] : undefined;
}

function holdsOrgAction(holder: Capabilities, capability: string, action: string): boolean {
  return (own(holder.orgCapabilities, capability) ?? []).includes(action);
}

/** A scoped action is held on the name itself or on `*` (so an action on `*` only on `*`). */
function holdsScopedAction(
  holder: Capabilities,
  field: ScopedField,
  name: string,
  capability: string,
  action: string,
) {
  const on = (key: string) => (own(own(holder[field], key), capability) ?? []).includes(action);
  return on(WILDCARD) || on(name);
}

/** An action `requested` names that its holder lacks: where (as field path segments), and which. */
interface Ungranted {
  field: readonly string[];
  action: Action;
}

/** Every action in `requested` that `holder` does not hold, in the order they are listed. */
function* ungranted(holder: Capabilities, requested: Capabilities): Generator<Ungranted> {
  for (const [capability, actions] of Object.entries(requested.orgCapabilities)) {
    for (const action of actions) {
      if (!holdsOrgAction(holder, capability, action))
        yield { field: ['orgCapabilities', capability], action };
    }
  }
  for (const field of SCOPED_FIELDS) {
    for (const [name, lists] of Object.entries(requested[field])) {
      for (const [capability, actions] of Object.entries(lists)) {
        for (const action of actions) {
          if (!holdsScopedAction(holder, field, name, capability, action))
            yield { field: [field, name, capability], action };
        }
      }
    }
  }
}

/**
 * Refuses, naming the first capability and action missing (as a field of `requested`), unless
 * `holder` holds everything in `requested`.
 */
export function assertGrantable(holder: Capabilities, requested: Capabilities): void {
  for (const { field, action } of ungranted(holder, requested)) {
    const name = field.length === 3 ? field[1] : undefined;
    const where =
      name === undefined ? '' : name === WILDCARD ? ` on '${WILDCARD}'` : ` on this name or on '${WILDCARD}'`;
    throw new TokenError('forbidden', `cannot grant '${action}', the caller does not hold it${where}`, field);
  }
}

/**
 * Each action in `required` that `holder` lacks, as `<field>.<name>.<capability>:<action>`
 * (`orgCapabilities.<capability>:<action>`); empty when it holds them all.
 */
export function missingCapabilities(holder: Capabilities, required: Capabilities): string[] {
  return [...ungranted(holder, required)].map(({ field, action }) => `${field.join('.')}:${action}`);
}

/** Refuses unless `holder` holds the organisation capabilities an operation requires (`x-required-capabilities`). */
export function assertHoldsRequired(holder: Capabilities, required: ActionLists): void {
  for (const [capability, actions] of Object.entries(required)) {
    for (const action of actions) {
      if (!holdsOrgAction(holder, capability, action)) {
        throw new TokenError(
          'forbidden',
          `this operation requires '${action}', which the caller's token lacks`,
          ['orgCapabilities', capability],
        );
      }
    }
  }
}

/**
 * Why `caller` may not end `target` (regenerate or delete it), or undefined when it may: only a
 * caller that could have issued the target holds everything it holds, or apiTokens:update (or
 * :delete) alone would end any token, the only admin included. `verb` names the operation refused.
 */
export function refuseEnding(
  caller: Capabilities,
  target: Capabilities,
  verb: 'regenerate' | 'delete',
): TokenError | undefined {
  try {
    assertGrantable(caller, target);
    return undefined;
  } catch (err) {
    if (!(err instanceof TokenError)) throw err;
    return new TokenError(
      'forbidden',
      `cannot ${verb} a token holding more than the caller: ${err.message}`,
      ['id'],
    );
  }
}
