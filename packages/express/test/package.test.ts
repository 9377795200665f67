// The package manifest a consumer installs: publishable, licensed, ESM with types, Express as a peer.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

const manifest = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));

describe('@api-tokens/express package.json', () => {
  it('is publishable under the MIT license', () => {
    expect(manifest.private).toBeUndefined();
    expect(manifest.license).toBe('MIT');
  });

  it('exports ESM with its types, and takes Express 4 or 5 from the application', () => {
    expect(manifest.type).toBe('module');
    expect(manifest.exports['.']).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
    expect(manifest.peerDependencies).toEqual({ express: '^4.21.0 || ^5.0.0' });
    expect(manifest.dependencies.express).toBeUndefined();
    // What it runs on: the client, eventsource-parser for the revocation feed and lru-cache for the
    // verdict cache; nothing of Express's own.
    expect(Object.keys(manifest.dependencies)).toEqual([
      '@api-tokens/client',
      'eventsource-parser',
      'lru-cache',
    ]);
  });

  it("depends on the client at a caret range of the client's own version (sync-version keeps them in step)", async () => {
    const client = JSON.parse(await readFile(new URL('../../client/package.json', import.meta.url), 'utf8'));
    expect(manifest.dependencies['@api-tokens/client']).toBe(`^${client.version}`);
  });
});
