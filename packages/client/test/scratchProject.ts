// Installing packed packages into a scratch project outside the workspace, as a consumer would: for the packed-package tests of the client and the guard.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const workspaceRoot = fileURLToPath(new URL('../../..', import.meta.url));

export interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Packed {
  filename: string;
  files: { path: string }[];
}

// npm passes its own settings to the scripts it runs (npm_config_*, npm_package_*); an npm started from a test
// would take them (a workspace prefix, say) and install into the workspace, so the scratch project gets a clean set.
function cleanEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !/^npm_(config|package|lifecycle)_/i.test(name) || name === 'npm_config_cache',
    ),
  );
}

/** Runs a command to its end; past `timeoutMs` it is killed and the run fails as a timeout. */
export function run(command: string, args: string[], cwd: string, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd, env: cleanEnvironment(), timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && 'killed' in error && error.killed) {
          reject(new Error(`timed out after ${timeoutMs} ms: ${command} ${args.join(' ')}\n${stderr}`));
          return;
        }
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

/** The version installed in the workspace, so the scratch install is the one already in npm's cache. */
export async function workspaceVersion(name: string): Promise<string> {
  const manifest = JSON.parse(
    await readFile(join(workspaceRoot, 'node_modules', name, 'package.json'), 'utf8'),
  );
  return `${name}@${manifest.version}`;
}

/** `npm pack`s the package in `dir` into `destination`; what npm reports it packed. */
export async function pack(dir: string, destination: string): Promise<Packed> {
  const packing = await run('npm', ['pack', '--json', '--pack-destination', destination], dir, 120_000);
  expect(packing.code, packing.stderr).toBe(0);
  // Lifecycle scripts may print before the JSON; the report is the last top-level array.
  const [packed] = JSON.parse(packing.stdout.slice(packing.stdout.indexOf('[\n'))) as Packed[];
  return packed as Packed;
}

/** Makes `scratch` an ESM project and installs `specs` (tarball paths, `name@version`) into it. */
export async function installInScratch(scratch: string, specs: string[]): Promise<void> {
  await writeFile(
    join(scratch, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  const install = await run(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', ...specs],
    scratch,
    300_000,
  );
  expect(install.code, install.stderr).toBe(0);
}

/**
 * Type-checks `source`, as consumer.ts, under TypeScript's nodenext resolution as a consumer
 * project would (the scratch project's own TypeScript); fails with the compiler's output.
 */
export async function expectTypeChecks(scratch: string, source: string): Promise<void> {
  await writeFile(
    join(scratch, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        lib: ['es2023', 'dom'],
        strict: true,
        noEmit: true,
        types: [],
      },
      files: ['consumer.ts'],
    }),
  );
  await writeFile(join(scratch, 'consumer.ts'), source);
  const tsc = await run(
    process.execPath,
    [join(scratch, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'],
    scratch,
    120_000,
  );
  expect(tsc.stdout + tsc.stderr).toBe('');
  expect(tsc.code).toBe(0);
}
