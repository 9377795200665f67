// How every message names a field of a request: the same way for the validator's 400s and the token rules' 403s.

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** One step into a value, as JavaScript writes it: `.billing`, `[0]`, `["logs/prod"]`. */
export function keyAccessor(key: string | number): string {
  if (typeof key === 'number') return `[${key}]`;
  return IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/**
 * A field as it is named in every message: `body.orgCapabilities.billing[0]`, with keys that are
 * not plain names quoted, `body.datasetCapabilities["logs/prod"]`.
 */
export function fieldPath(location: string, keys: readonly (string | number)[]): string {
  return location + keys.map(keyAccessor).join('');
}
