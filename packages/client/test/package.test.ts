// The package manifest a consumer installs: publishable, licensed, and versioned like the contract it speaks.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const manifest = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
const spec = parse(await readFile(new URL('../../../openapi/openapi.yaml', import.meta.url), 'utf8'));

describe('@api-tokens/client package.json', () => {
  it("has the spec's info.version (npm run generate writes it)", () => {
    expect(manifest.version).toBe(spec.info.version);
  });

  it('is publishable under the MIT license', () => {
    expect(manifest.private).toBeUndefined();
    expect(manifest.license).toBe('MIT');
  });
});
