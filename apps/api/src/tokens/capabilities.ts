// Capability sets: which capabilities and actions exist (read from the spec), their canonical form, and the grant rules.
import type {
  CrudAction,
  DatasetCapabilitiesMap,
  OrgCapabilities,
  ViewCapabilitiesMap,
} from '@api-tokens/client';
import { forbidden } from '../errors.js';
import { keyAccessor } from '../fieldPath.js';
import { componentSchema, type OpenApiDocument, resolveSchema } from '../spec.js';

export type Action = CrudAction;

/** The key that stands for every dataset (or view), present and future. */
export const WILDCARD = '*';

/** The capabilities a token holds, in the spec's own words. */
export interface Capabilities {
  datasetCapabilities: DatasetCapabilitiesMap;
  orgCapabilities: OrgCapabilities;
  viewCapabilities: ViewCapabilitiesMap;
}

/** The capability fields keyed by a resource name (dataset, view), where `*` covers every name. */
export const SCOPED_FIELDS = ['datasetCapabilities', 'viewCapabilities'] as const;
export type ScopedField = (typeof SCOPED_FIELDS)[number];

/** Capability name → the actions it allows, in the order the spec lists them. */
export type CapabilityKinds = ReadonlyMap<string, readonly Action[]>;

/** Which capabilities exist and what each allows, all of it read from the spec. */
export interface CapabilityCatalog {
  org: CapabilityKinds;
  /** Per scoped field, the capabilities one dataset (view) can have. */
  scoped: Readonly<Record<ScopedField, CapabilityKinds>>;
}

/** A loose view of a capability object: capability name → actions (null: not granted). */
type ActionLists = Record<string, readonly string[] | null | undefined>;
/** A loose view of a scoped capability map: resource name → action lists. */
type ScopedLists = Record<string, ActionLists | null | undefined>;

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

export function readCapabilityCatalog(spec: OpenApiDocument): CapabilityCatalog {
  return {
    org: readKinds(spec, 'OrgCapabilities'),
    scoped: {
      datasetCapabilities: readKinds(spec, 'DatasetCapabilities'),
      viewCapabilities: readKinds(spec, 'ViewCapabilities'),
    },
  };
}

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
function normalizeActionLists(kinds: CapabilityKinds, lists: ActionLists | null | undefined): ActionLists {
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
function normalizeScoped(kinds: CapabilityKinds, scoped: ScopedLists | null | undefined): ScopedLists {
  const normalized: Record<string, ActionLists> = {};
  for (const name of Object.keys(scoped ?? {}).sort()) {
    const lists = normalizeActionLists(kinds, scoped?.[name]);
    if (Object.keys(lists).length > 0) normalized[name] = lists;
  }
  return normalized;
}

/** Capabilities as a request may carry them: any part absent or null. */
export type RequestedCapabilities = { [field in keyof Capabilities]?: Capabilities[field] | null };

/**
 * The canonical form in which capabilities are stored and answered: a token reads back the same
 * however its grants were ordered, repeated or nulled.
 */
export function normalizeCapabilities(
  catalog: CapabilityCatalog,
  requested: RequestedCapabilities,
): Capabilities {
  return {
    datasetCapabilities: normalizeScoped(
      catalog.scoped.datasetCapabilities,
      requested.datasetCapabilities as ScopedLists,
    ) as DatasetCapabilitiesMap,
    orgCapabilities: normalizeActionLists(
      catalog.org,
      requested.orgCapabilities as ActionLists,
    ) as OrgCapabilities,
    viewCapabilities: normalizeScoped(
      catalog.scoped.viewCapabilities,
      requested.viewCapabilities as ScopedLists,
    ) as ViewCapabilitiesMap,
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
  return (own(holder.orgCapabilities as ActionLists, capability) ?? []).includes(action);
}

/** A scoped action is held on the name itself or on `*` (so an action on `*` only on `*`). */
function holdsScopedAction(
  holder: Capabilities,
  field: ScopedField,
  name: string,
  capability: string,
  action: string,
) {
  const on = (key: string) =>
    (own(own(holder[field] as ScopedLists, key), capability) ?? []).includes(action);
  return on(WILDCARD) || on(name);
}

/**
 * Refuses, naming the first capability and action missing, unless `holder` holds everything in
 * `requested`. `path` locates `requested` in the request ('body.', 'body.newToken.'), so the refusal
 * names the field as the request spelled it.
 */
export function assertGrantable(holder: Capabilities, requested: Capabilities, path: string): void {
  for (const [capability, actions] of Object.entries(requested.orgCapabilities as ActionLists)) {
    for (const action of actions ?? []) {
      if (!holdsOrgAction(holder, capability, action)) {
        throw forbidden(
          `${path}orgCapabilities.${capability}: cannot grant '${action}', the caller does not hold it`,
        );
      }
    }
  }
  for (const field of SCOPED_FIELDS) {
    for (const [name, lists] of Object.entries(requested[field] as ScopedLists)) {
      for (const [capability, actions] of Object.entries(lists ?? {})) {
        for (const action of actions ?? []) {
          if (!holdsScopedAction(holder, field, name, capability, action)) {
            const where = name === WILDCARD ? `on '${WILDCARD}'` : `on this name or on '${WILDCARD}'`;
            throw forbidden(
              `${path}${field}${keyAccessor(name)}.${capability}: cannot grant '${action}', the caller does not hold it ${where}`,
            );
          }
        }
      }
    }
  }
}

/** Refuses unless `holder` holds the organisation capabilities an operation requires (`x-required-capabilities`). */
export function assertHoldsRequired(
  holder: Capabilities,
  required: Readonly<Record<string, readonly string[]>>,
): void {
  for (const [capability, actions] of Object.entries(required)) {
    for (const action of actions) {
      if (!holdsOrgAction(holder, capability, action)) {
        throw forbidden(
          `orgCapabilities.${capability}: this operation requires '${action}', which the caller's token lacks`,
        );
      }
    }
  }
}
