// Dataset and view names a requirement may name, checked by the spec's own schemas before a verification is sent.
import type { RequiredCapabilities } from '@api-tokens/client';
import { DatasetNameSchema, ViewNameSchema } from '@api-tokens/client/schemas';

interface NameSchema {
  minLength: number;
  maxLength: number;
  pattern: string;
}

function isValidName(name: string, schema: NameSchema): boolean {
  const length = [...name].length;
  return length >= schema.minLength && length <= schema.maxLength && new RegExp(schema.pattern).test(name);
}

/** Quoted for a message: JSON-escaped, and cut short, since the name may come from anyone's request. */
const quote = (name: string) => JSON.stringify(name.length > 140 ? `${name.slice(0, 140)}…` : name);

/**
 * Why `required` cannot be verified, naming the first dataset or view whose name the spec refuses
 * (`DatasetName`, `ViewName`), or undefined when every name is valid.
 */
export function invalidName(required: RequiredCapabilities | undefined): string | undefined {
  const scopes = [
    ['dataset', required?.datasetCapabilities, DatasetNameSchema],
    ['view', required?.viewCapabilities, ViewNameSchema],
  ] as const;
  for (const [kind, map, schema] of scopes) {
    for (const name of Object.keys(map ?? {})) {
      if (!isValidName(name, schema)) {
        return (
          `${quote(name)} is not a valid ${kind} name: use ${schema.minLength} to ${schema.maxLength} letters, ` +
          `digits, '.', '_' or '-', starting with a letter or digit, or '*' for every ${kind}`
        );
      }
    }
  }
  return undefined;
}
