// A spec version bump in a scratch copy of the workspace: the client follows it, so does the guard's range, and npm resolves the guard's client to the workspace, not the registry.
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../client/test/scratchProject.js';

const workspaceRoot = fileURLToPath(new URL('../../..', import.meta.url));
let scratch: string;

/** The spec's next minor version: outside a caret range of the current one while the major is 0. */
function nextMinor(version: string): string {
  const [major, minor] = version.split('.').map(Number);
  return `${major}.${(minor as number) + 1}.0`;
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'api-tokens-spec-bump-'));
  // The manifests npm resolves the workspace from, the lock, the spec and the script that syncs versions.
  for (const file of [
    'package.json',
    'package-lock.json',
    'openapi/openapi.yaml',
    'packages/client/scripts',
  ]) {
    await cp(join(workspaceRoot, file), join(scratch, file), { recursive: true });
  }
  for (const workspace of ['packages', 'apps']) {
    for (const name of await readdir(join(workspaceRoot, workspace))) {
      await mkdir(join(scratch, workspace, name), { recursive: true });
      await cp(
        join(workspaceRoot, workspace, name, 'package.json'),
        join(scratch, workspace, name, 'package.json'),
      );
    }
  }
}, 60_000);

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('a spec info.version bump', () => {
  it('moves the client and the guard’s range to it, and npm resolves the guard’s client to the workspace', async () => {
    const specPath = join(scratch, 'openapi/openapi.yaml');
    const spec = await readFile(specPath, 'utf8');
    const current = /^ {2}version: (\S+)$/m.exec(spec)?.[1] as string;
    expect(current).toMatch(/^\d+\.\d+\.\d+/);
    const bumped = nextMinor(current);
    await writeFile(specPath, spec.replace(/^( {2}version: )\S+$/m, `$1${bumped}`));

    // The sync script needs only yaml: lent from the workspace, and gone again before npm runs.
    await mkdir(join(scratch, 'node_modules'));
    await symlink(join(workspaceRoot, 'node_modules/yaml'), join(scratch, 'node_modules/yaml'), 'dir');
    const sync = await run('node', ['packages/client/scripts/sync-version.mjs'], scratch, 30_000);
    expect(sync.code, sync.stderr).toBe(0);
    await rm(join(scratch, 'node_modules'), { recursive: true });

    const manifest = async (dir: string) =>
      JSON.parse(await readFile(join(scratch, dir, 'package.json'), 'utf8'));
    expect((await manifest('packages/client')).version).toBe(bumped);
    expect((await manifest('packages/express')).dependencies['@api-tokens/client']).toBe(`^${bumped}`);
    // The private apps take whatever the workspace has.
    expect((await manifest('apps/api')).dependencies['@api-tokens/client']).toBe('*');

    // Resolution only (what `npm install` decides), from npm's cache where it can: no build, no scripts.
    const install = await run(
      'npm',
      ['install', '--package-lock-only', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund'],
      scratch,
      120_000,
    );
    expect(install.code, install.stderr).toBe(0);
    const lock = JSON.parse(await readFile(join(scratch, 'package-lock.json'), 'utf8'));
    expect(lock.packages['packages/client'].version).toBe(bumped);
    expect(lock.packages['node_modules/@api-tokens/client']).toEqual({
      resolved: 'packages/client',
      link: true,
    });
    // No copy of the client from anywhere else, nested under the guard or not.
    const clients = Object.keys(lock.packages).filter((path) =>
      path.endsWith('node_modules/@api-tokens/client'),
    );
    expect(clients).toEqual(['node_modules/@api-tokens/client']);
  }, 180_000);
});
