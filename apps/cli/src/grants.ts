// Capability grants as the CLI's flags write them: --org apiTokens=create,read, --dataset logs:ingest=create, --view errors:query=read.
import { InvalidArgumentError } from 'commander';

/** Capability name → actions, the shape of OrgCapabilities and of one dataset's (view's) capabilities. */
export type ActionLists = Record<string, string[]>;
/** Dataset (view) name → its capabilities. */
export type ScopedGrants = Record<string, ActionLists>;

const GRANT = /^([^=\s]+)=([^=\s]+)$/;

/** `capability=action[,action]`, added to what earlier flags granted (repeating one merges its actions). */
function addGrant(into: ActionLists, text: string, expected: string): ActionLists {
  const match = GRANT.exec(text.trim());
  const actions = match?.[2]?.split(',') ?? [];
  if (match?.[1] === undefined || actions.some((action) => action === '')) {
    throw new InvalidArgumentError(expected);
  }
  const capability = match[1];
  const held = into[capability] ?? [];
  return { ...into, [capability]: [...held, ...actions.filter((action) => !held.includes(action))] };
}

/** The parser of a repeatable --org flag. */
export function parseOrgGrant(text: string, previous: ActionLists = {}): ActionLists {
  return addGrant(previous, text, 'expected CAPABILITY=ACTION[,ACTION], like apiTokens=create,read.');
}

/** The parser of a repeatable --dataset (`kind` 'dataset') or --view flag: `NAME:CAPABILITY=ACTION[,ACTION]`. */
export function scopedGrantParser(kind: 'dataset' | 'view') {
  const example = kind === 'dataset' ? 'logs-prod:ingest=create' : 'errors:query=read';
  const expected = `expected ${kind.toUpperCase()}:CAPABILITY=ACTION[,ACTION], like ${example}.`;
  return (text: string, previous: ScopedGrants = {}): ScopedGrants => {
    // Dataset and view names never hold ':', so the first one ends the name.
    const colon = text.indexOf(':');
    if (colon <= 0) throw new InvalidArgumentError(expected);
    const name = text.slice(0, colon);
    return { ...previous, [name]: addGrant(previous[name] ?? {}, text.slice(colon + 1), expected) };
  };
}
