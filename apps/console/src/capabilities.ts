// What the spec says a capability may hold, read from its generated schemas, and what the signed-in token can grant.
import * as schemas from './generated/schemas.gen';
import type { DatasetCapabilitiesMap, OrgCapabilities, ViewCapabilitiesMap } from './generated/types.gen';

export type Action = 'create' | 'read' | 'update' | 'delete';
/** Capability name → actions: one organisation, dataset or view entry. */
export type Grants = Record<string, Action[]>;
/** Dataset or view name (or `*`) → its grants. */
export type ScopedGrants = Record<string, Grants>;
export type Scope = 'datasetCapabilities' | 'viewCapabilities';

const ACTION_ORDER: readonly Action[] = ['create', 'read', 'update', 'delete'];

interface SchemaNode {
  $ref?: string;
  enum?: readonly string[];
  items?: SchemaNode;
  properties?: Record<string, SchemaNode>;
}

function resolve(node: SchemaNode): SchemaNode {
  if (node.$ref === undefined) return node;
  const name = `${node.$ref.replace('#/components/schemas/', '')}Schema`;
  const target = (schemas as Record<string, SchemaNode>)[name];
  if (target === undefined) throw new Error(`unresolved schema ${node.$ref}`);
  return resolve(target);
}

/** Each capability of an object schema with the actions its schema allows, in the spec's order. */
function capabilitiesOf(schema: SchemaNode): ReadonlyMap<string, readonly Action[]> {
  return new Map(
    Object.entries(schema.properties ?? {}).map(([name, node]) => {
      const items = resolve(resolve(node).items ?? {});
      return [name, (items.enum ?? []) as readonly Action[]];
    }),
  );
}

/** The capabilities the spec defines, each with its allowed actions. */
export const CAPABILITIES = {
  orgCapabilities: capabilitiesOf(schemas.OrgCapabilitiesSchema),
  datasetCapabilities: capabilitiesOf(schemas.DatasetCapabilitiesSchema),
  viewCapabilities: capabilitiesOf(schemas.ViewCapabilitiesSchema),
} as const;

/** The entries of a capabilities object that grant something (the API leaves out null and empty lists). */
export function grantsOf(capabilities: OrgCapabilities | Record<string, unknown> | undefined): Grants {
  const grants: Grants = {};
  for (const [name, actions] of Object.entries(capabilities ?? {})) {
    if (Array.isArray(actions) && actions.length > 0) grants[name] = sortActions(actions as Action[]);
  }
  return grants;
}

export function scopedGrantsOf(map: DatasetCapabilitiesMap | ViewCapabilitiesMap | undefined): ScopedGrants {
  const scoped: ScopedGrants = {};
  for (const [name, capabilities] of Object.entries(map ?? {})) scoped[name] = grantsOf(capabilities);
  return scoped;
}

export function sortActions(actions: readonly Action[]): Action[] {
  return ACTION_ORDER.filter((action) => actions.includes(action));
}

/**
 * What a token holding `held` may grant on one dataset or view: what it holds there, plus what it
 * holds on `*` (which covers every name). On `*` itself only what is held on `*`.
 */
export function grantableOn(held: ScopedGrants, name: string): Grants {
  const here = held[name] ?? {};
  const everywhere = name === '*' ? {} : (held['*'] ?? {});
  const grantable: Grants = {};
  for (const capability of new Set([...Object.keys(here), ...Object.keys(everywhere)])) {
    grantable[capability] = sortActions([...(here[capability] ?? []), ...(everywhere[capability] ?? [])]);
  }
  return grantable;
}

/** Adds or removes one action, leaving out capabilities and names left with nothing. */
export function toggle(grants: Grants, capability: string, action: Action, on: boolean): Grants {
  const actions = new Set(grants[capability] ?? []);
  if (on) actions.add(action);
  else actions.delete(action);
  const next = { ...grants };
  if (actions.size === 0) delete next[capability];
  else next[capability] = sortActions([...actions]);
  return next;
}

export function hasAction(grants: Grants | undefined, capability: string, action: Action): boolean {
  return grants?.[capability]?.includes(action) ?? false;
}

/** How a dataset or view key reads to a person: `*` is "all datasets" / "all views". */
export function scopeName(scope: Scope, name: string): string {
  if (name !== '*') return name;
  return scope === 'datasetCapabilities' ? 'all datasets' : 'all views';
}
