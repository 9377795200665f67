// Capability sets: which capabilities and actions exist (read from the spec), their canonical form, and the grant rules.
import type { CrudAction, DatasetCapabilitiesMap, OrgCapabilities } from '@api-tokens/client';
import { badRequest, forbidden } from '../errors.js';
import { componentSchema, type OpenApiDocument, resolveSchema } from '../spec.js';

export type Action = CrudAction;

/** The dataset key that stands for every dataset, present and future. */
export const ALL_DATASETS = '*';

/** The capabilities a token holds, in the spec's own words. */
export interface Capabilities {
  datasetCapabilities: DatasetCapabilitiesMap;
  orgCapabilities: OrgCapabilities;
}

/** Capability name → the actions it allows, in the order the spec lists them. */
export type CapabilityKinds = ReadonlyMap<string, readonly Action[]>;

/** Everything the grant rules need to know about capabilities, all of it read from the spec. */
export interface CapabilityCatalog {
  org: CapabilityKinds;
  dataset: CapabilityKinds;
  datasetName: { pattern: RegExp; minLength: number; maxLength: number; description: string };
}

/** A loose view of a capability object: capability name → actions. */
type ActionLists = Record<string, readonly string[] | null | undefined>;

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
  const name = componentSchema(spec, 'DatasetName');
  if (name.pattern === undefined || name.maxLength === undefined) {
    throw new Error('spec: DatasetName needs a pattern and a maxLength');
  }
  return {
    org: readKinds(spec, 'OrgCapabilities'),
    dataset: readKinds(spec, 'DatasetCapabilities'),
    datasetName: {
      pattern: new RegExp(name.pattern, 'u'),
      minLength: name.minLength ?? 1,
      maxLength: name.maxLength,
      // The first sentence of the spec's description, for error messages.
      description: `${
        String(name.description ?? '')
          .replace(/\s+/g, ' ')
          .split('. ')[0]
      }.`,
    },
  };
}

/** Every capability with every action it allows; what the bootstrap admin token holds. */
export function allCapabilities(catalog: CapabilityCatalog): Capabilities {
  const everything = (kinds: CapabilityKinds) => Object.fromEntries(kinds);
  return {
    datasetCapabilities: { [ALL_DATASETS]: everything(catalog.dataset) },
    orgCapabilities: everything(catalog.org),
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

/**
 * The canonical form in which capabilities are stored and answered: a token reads back the same
 * however its grants were ordered or repeated. Datasets are sorted by name; those granting
 * nothing are dropped.
 */
export function normalizeCapabilities(
  catalog: CapabilityCatalog,
  capabilities: Partial<Capabilities>,
): Capabilities {
  const datasetCapabilities: Record<string, ActionLists> = {};
  const datasets = Object.keys(capabilities.datasetCapabilities ?? {}).sort();
  for (const dataset of datasets) {
    const lists = normalizeActionLists(
      catalog.dataset,
      capabilities.datasetCapabilities?.[dataset] as ActionLists,
    );
    if (Object.keys(lists).length > 0) datasetCapabilities[dataset] = lists;
  }
  return {
    datasetCapabilities: datasetCapabilities as DatasetCapabilitiesMap,
    orgCapabilities: normalizeActionLists(
      catalog.org,
      capabilities.orgCapabilities as ActionLists,
    ) as OrgCapabilities,
  };
}

/** Rejects dataset names the spec's `DatasetName` does not allow (OpenAPI 3.0 cannot constrain object keys itself). */
export function assertValidDatasetNames(
  catalog: CapabilityCatalog,
  datasets: DatasetCapabilitiesMap | undefined,
): void {
  const rule = catalog.datasetName;
  for (const name of Object.keys(datasets ?? {})) {
    const length = [...name].length;
    if (length < rule.minLength || length > rule.maxLength || !rule.pattern.test(name)) {
      throw badRequest(
        `body.datasetCapabilities: ${JSON.stringify(name)} is not a valid dataset name. ${rule.description}`,
      );
    }
  }
}

function holdsOrgAction(holder: Capabilities, capability: string, action: string): boolean {
  return ((holder.orgCapabilities as ActionLists)[capability] ?? []).includes(action);
}

/** A dataset action is held on the dataset itself or on `*`; an action on `*` only on `*`. */
function holdsDatasetAction(
  holder: Capabilities,
  dataset: string,
  capability: string,
  action: string,
): boolean {
  const onDataset = (name: string) =>
    ((holder.datasetCapabilities[name] as ActionLists | undefined)?.[capability] ?? []).includes(action);
  return onDataset(ALL_DATASETS) || (dataset !== ALL_DATASETS && onDataset(dataset));
}

/** Refuses, naming the first capability and action missing, unless `holder` holds everything in `requested`. */
export function assertGrantable(holder: Capabilities, requested: Capabilities): void {
  for (const [capability, actions] of Object.entries(requested.orgCapabilities as ActionLists)) {
    for (const action of actions ?? []) {
      if (!holdsOrgAction(holder, capability, action)) {
        throw forbidden(
          `orgCapabilities.${capability}: cannot grant '${action}', the caller does not hold it`,
        );
      }
    }
  }
  for (const [dataset, lists] of Object.entries(requested.datasetCapabilities)) {
    for (const [capability, actions] of Object.entries(lists as ActionLists)) {
      for (const action of actions ?? []) {
        if (!holdsDatasetAction(holder, dataset, capability, action)) {
          throw forbidden(
            `datasetCapabilities.${dataset}.${capability}: cannot grant '${action}', the caller does not hold it` +
              (dataset === ALL_DATASETS
                ? ` on '${ALL_DATASETS}'`
                : ` on this dataset or on '${ALL_DATASETS}'`),
          );
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
