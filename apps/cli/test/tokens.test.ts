// The CLI as a process against a real server: login, every token command, both outputs, every exit code.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import type { ApiToken, CreateApiTokenResponse } from '@api-tokens/client';
import { describe, expect, it } from 'vitest';
import { cliEntry, freshHome, runCli, useServer } from './run.js';

const ADMIN = 'xaat-cliTestAdminSecret01234567890123456789012343qZ4FS';
const server = useServer(ADMIN);

/** The CLI against the test server, as `token` (the admin by default), in a home of its own. */
const cli = (
  args: string[],
  { token = ADMIN, stdin, home = freshHome() }: { token?: string; stdin?: string; home?: string } = {},
) =>
  runCli(['--url', server().baseUrl, ...args], {
    home,
    stdin,
    env: token === '' ? {} : { API_TOKENS_TOKEN: token },
  });

/** Runs a command that must succeed and prints JSON (the default when stdout is not a terminal). */
async function json<T>(args: string[], options?: Parameters<typeof cli>[1]): Promise<T> {
  const result = await cli(args, options);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as T;
}

const create = (args: string[], options?: Parameters<typeof cli>[1]) =>
  json<CreateApiTokenResponse>(['tokens', 'create', ...args], options);

const DAY_MS = 86_400_000;

describe('api-tokens login, whoami, logout', () => {
  it('reads the token from stdin, stores it 0600 in a 0700 directory, and later commands use it', async () => {
    const home = freshHome();
    const login = await cli(['login'], { token: '', stdin: `${ADMIN}\n`, home });
    expect(login.code).toBe(0);
    expect(login.stderr).toMatch(/Logged in to .* as bootstrap-admin/);
    expect(login.stdout + login.stderr).not.toContain(ADMIN);

    const path = join(home, 'config', 'api-tokens', 'config.json');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(path, '..')).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ url: server().baseUrl, token: ADMIN });

    // No --url and no token in the environment: both come from the login.
    const whoami = await runCli(['whoami', '--output', 'table'], { home });
    expect(whoami.code).toBe(0);
    expect(whoami.stdout).toContain(`Server: ${server().baseUrl}`);
    expect(whoami.stdout).toMatch(/Name: +bootstrap-admin/);

    const logout = await cli(['logout'], { token: '', home });
    expect(logout.code).toBe(0);
    expect(() => statSync(path)).toThrow();
    const after = await runCli(['whoami'], { home });
    expect(after.code).toBe(4);
    expect(after.stderr).toMatch(/not logged in: set API_TOKENS_TOKEN, or run api-tokens login/);
  });

  it('refuses a token the server does not know with exit 4, and stores nothing', async () => {
    const home = freshHome();
    const login = await cli(['login'], { token: '', stdin: 'xaat-not-a-real-token\n', home });
    expect(login.code).toBe(4);
    expect(login.stderr).toMatch(/unknown, revoked or expired \(HTTP 401\)/);
    expect(() => statSync(join(home, 'config', 'api-tokens', 'config.json'))).toThrow();
  });

  it('never takes the token from the command line: an argument is a usage error', async () => {
    const login = await cli(['login', ADMIN], { token: '' });
    expect(login.code).toBe(2);
    expect(login.stderr).toContain('Usage: api-tokens login');
  });

  it('sends a stored token only to the server it was logged in to', async () => {
    const home = freshHome();
    expect((await cli(['login'], { token: '', stdin: ADMIN, home })).code).toBe(0);
    const elsewhere = await runCli(['--url', 'http://127.0.0.1:9', 'whoami'], { home });
    expect(elsewhere.code).toBe(4);
    expect(elsewhere.stderr).toMatch(/no token for http:\/\/127\.0\.0\.1:9 \(logged in to /);
  });

  it('whoami answers a narrow token with its own token (GET /v2/tokens/self)', async () => {
    const narrow = await create(['--name', 'narrow', '--dataset', 'logs:query=read']);
    const self = await json<ApiToken>(['whoami'], { token: narrow.token });
    const { token: _secret, ...withoutSecret } = narrow;
    expect(self).toEqual(withoutSecret);
  });
});

describe('api-tokens tokens create', () => {
  it('takes every flag form, repeated flags merging, and the token reads back as created', async () => {
    const before = Date.now();
    const created = await create([
      '--name',
      'shipper',
      '--description',
      'ships logs',
      '--expires',
      '30d',
      '--org',
      'apiTokens=create,read',
      '--org',
      'dashboards=read',
      '--dataset',
      'logs-prod:ingest=create',
      '--dataset',
      'logs-prod:query=read',
      '--dataset',
      'metrics:ingest=create',
      '--view',
      'errors:query=read',
    ]);
    const after = Date.now();
    expect(created).toMatchObject({
      name: 'shipper',
      description: 'ships logs',
      orgCapabilities: { apiTokens: ['create', 'read'], dashboards: ['read'] },
      datasetCapabilities: {
        'logs-prod': { ingest: ['create'], query: ['read'] },
        metrics: { ingest: ['create'] },
      },
      viewCapabilities: { errors: { query: ['read'] } },
    });
    const expiresAt = Date.parse(created.expiresAt ?? '');
    expect(expiresAt).toBeGreaterThanOrEqual(before + 30 * DAY_MS);
    expect(expiresAt).toBeLessThanOrEqual(after + 30 * DAY_MS);
    expect(created.token).toMatch(/^xaat-/);

    const { token: _secret, ...withoutSecret } = created;
    expect(await json<ApiToken>(['tokens', 'get', created.id])).toEqual(withoutSecret);
  });

  it('takes --expires as a date-time and as a duration with several units', async () => {
    const dated = await create(['--name', 'dated', '--expires', '2031-01-31T00:00:00Z']);
    expect(dated.expiresAt).toBe('2031-01-31T00:00:00.000Z');
    const before = Date.now();
    const combined = await create(['--name', 'combined', '--expires', '1h30m']);
    expect(Date.parse(combined.expiresAt ?? '')).toBeGreaterThanOrEqual(before + 90 * 60_000);
    expect(Date.parse(combined.expiresAt ?? '')).toBeLessThanOrEqual(Date.now() + 90 * 60_000);
  });

  it('reads the body from --from-json FILE, and flags add to it', async () => {
    const file = join(freshHome(), 'token.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'from-file',
        description: 'kept',
        datasetCapabilities: { logs: { query: ['read'] } },
      }),
    );
    const created = await create(['--from-json', file, '--name', 'renamed', '--dataset', 'audit:query=read']);
    expect(created).toMatchObject({
      name: 'renamed',
      description: 'kept',
      datasetCapabilities: { logs: { query: ['read'] }, audit: { query: ['read'] } },
    });
  });

  it('reads the body from standard input with --from-json -', async () => {
    const body = { name: 'from-stdin', orgCapabilities: { monitors: ['read'] } };
    const created = await create(['--from-json', '-'], { stdin: JSON.stringify(body) });
    expect(created).toMatchObject(body);
  });

  it('takes --cidr repeated and --not-before, and shows both, as JSON and in a table', async () => {
    const created = await create([
      '--name',
      'bound',
      '--cidr',
      '203.0.113.9/24',
      '--cidr',
      '2001:db8::/32',
      '--not-before',
      '2031-01-01T00:00:00Z',
      '--expires',
      '2031-02-01T00:00:00Z',
    ]);
    expect(created).toMatchObject({
      allowedCidrs: ['203.0.113.0/24', '2001:db8::/32'],
      notBefore: '2031-01-01T00:00:00.000Z',
    });
    const table = await cli(['tokens', 'get', created.id, '-o', 'table']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/Not before: +2031-01-01T00:00:00\.000Z\n/);
    expect(table.stdout).toMatch(/Networks: +203\.0\.113\.0\/24\n +2001:db8::\/32\n/);
    // A duration from now, as --expires takes it.
    const before = Date.now();
    const later = await create(['--name', 'later', '--not-before', '1h']);
    expect(Date.parse(later.notBefore ?? '')).toBeGreaterThanOrEqual(before + 3_600_000);
  });

  it('shows the API message for a --cidr that is no network, exiting 1', async () => {
    const result = await cli([
      'tokens',
      'create',
      '--name',
      'x',
      '--cidr',
      '10.0.0.0/8',
      '--cidr',
      'nowhere',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('body.allowedCidrs[1]: "nowhere" is not an IPv4 or IPv6 network');
  });

  it('prints the secret once, marked, in a table', async () => {
    const result = await cli([
      'tokens',
      'create',
      '--name',
      'tabled',
      '--org',
      'apiTokens=read',
      '-o',
      'table',
    ]);
    expect(result.code).toBe(0);
    const secret = /Secret \(shown once, store it now\): (xaat-\S+)/.exec(result.stdout)?.[1];
    expect(secret).toBeDefined();
    expect(result.stdout.split(secret ?? '').length - 1).toBe(1);
    expect(result.stdout).toMatch(/Name: +tabled/);
    expect(result.stdout).toMatch(/Grants: +org apiTokens=read/);
    // The secret printed is the token's: it authenticates as that token.
    const self = await json<ApiToken>(['whoami'], { token: secret });
    expect(self.name).toBe('tabled');
  });

  it('shows the API message and exits 1 when the API refuses the body, creating nothing', async () => {
    const before = await json<ApiToken[]>(['tokens', 'list']);
    const result = await cli(['tokens', 'create', '--name', 'bad', '--org', 'apiTokens=fly']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^api-tokens: body\.orgCapabilities\.apiTokens\[0\]: .* \(HTTP 400\)\n$/);
    expect(await json<ApiToken[]>(['tokens', 'list'])).toHaveLength(before.length);
  });

  it('refuses malformed flag values as usage errors (exit 2) without calling the API', async () => {
    for (const args of [
      ['--expires', '-5d'],
      ['--expires', '0d'],
      ['--expires', 'tomorrow'],
      ['--org', 'apiTokens'],
      ['--dataset', 'ingest=create'],
      ['--view', 'errors:query='],
    ]) {
      const result = await cli(['tokens', 'create', '--name', 'x', ...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(/is invalid\. expected/);
    }
    const nameless = await cli(['tokens', 'create']);
    expect(nameless.code).toBe(2);
    expect(nameless.stderr).toMatch(/--name is required/);
    const notJson = await cli(['tokens', 'create', '--from-json', '-'], { stdin: '{"name":' });
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toMatch(/--from-json -: not valid JSON/);
  });
});

describe('api-tokens tokens list and get', () => {
  it('lists as JSON (the API answer) and as a table', async () => {
    const created = await create(['--name', 'listed-one', '--dataset', 'logs:query=read']);
    const listed = await json<ApiToken[]>(['tokens', 'list']);
    const { token: _secret, ...withoutSecret } = created;
    expect(listed).toContainEqual(withoutSecret);
    expect(listed[0]?.name).toBe('bootstrap-admin');

    const table = await cli(['tokens', 'list', '--output', 'table']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +NAME +EXPIRES +GRANTS$/);
    expect(lines).toHaveLength(listed.length + 1);
    expect(table.stdout).toMatch(new RegExp(`${created.id} +listed-one +never +org:0 datasets:logs views:-`));
  });

  it('--limit N answers the first N tokens, in order', async () => {
    await create(['--name', 'another']);
    // The listing itself uses the admin token, whose apiLastUsed moves (once a minute at most) when
    // the listings are slow enough to straddle that minute: the tokens are compared without it.
    const listed = async (...args: string[]) =>
      (await json<ApiToken[]>(['tokens', 'list', ...args])).map(({ apiLastUsed: _, ...token }) => token);
    const all = await listed();
    expect(all.length).toBeGreaterThan(2);
    expect(await listed('--limit', '2')).toEqual(all.slice(0, 2));
    expect(await listed('--limit', '1000')).toEqual(all);
    expect((await cli(['tokens', 'list', '--limit', '0'])).code).toBe(2);
  });

  it('get of an unknown id exits 1 with the API message on stderr', async () => {
    const result = await cli(['tokens', 'get', '5f0c6f39-0c55-4a43-9d3f-3d1f3e6a2b7c']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('api-tokens: id: no token 5f0c6f39-0c55-4a43-9d3f-3d1f3e6a2b7c (HTTP 404)\n');
  });
});

describe('api-tokens tokens regenerate and delete', () => {
  it('regenerates with a grace period: both secrets work, the old one until the grace ends', async () => {
    const old = await create(['--name', 'rotated', '--org', 'apiTokens=read']);
    const before = Date.now();
    const result = await cli([
      'tokens',
      'regenerate',
      old.id,
      '--grace',
      '1h',
      '--expires',
      '2031-06-01T00:00:00Z',
      '-o',
      'table',
    ]);
    expect(result.code).toBe(0);
    const secret = /Secret \(shown once, store it now\): (xaat-\S+)/.exec(result.stdout)?.[1] ?? '';
    const newId = /The replacement is ([0-9a-f-]{36})\./.exec(result.stdout)?.[1];
    expect(result.stdout.split(secret).length - 1).toBe(1);

    const replacement = await json<ApiToken>(['whoami'], { token: secret });
    expect(replacement).toMatchObject({ id: newId, name: 'rotated', expiresAt: '2031-06-01T00:00:00.000Z' });
    const oldSelf = await json<ApiToken>(['whoami'], { token: old.token });
    expect(oldSelf.id).toBe(old.id);
    const graceEnds = Date.parse(oldSelf.expiresAt ?? '');
    expect(graceEnds).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(graceEnds).toBeLessThanOrEqual(Date.now() + 3_600_000);

    const again = await cli(['tokens', 'regenerate', old.id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/\(HTTP 409\)/);
  });

  it('regenerates without --grace: the old secret stops at once', async () => {
    const old = await create(['--name', 'cut']);
    const replaced = await json<CreateApiTokenResponse>(['tokens', 'regenerate', old.id]);
    expect(replaced.token).toMatch(/^xaat-/);
    expect((await cli(['whoami'], { token: old.token })).code).toBe(4);
    expect((await cli(['whoami'], { token: replaced.token })).code).toBe(0);
  });

  it('deletes: the secret stops working, the id is gone, and a second delete exits 1', async () => {
    const doomed = await create(['--name', 'doomed']);
    const deleted = await cli(['tokens', 'delete', doomed.id, '-o', 'table']);
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toBe(`Deleted token ${doomed.id}.\n`);
    expect((await cli(['whoami'], { token: doomed.token })).code).toBe(4);
    expect((await cli(['tokens', 'get', doomed.id])).code).toBe(1);
    const again = await cli(['tokens', 'delete', doomed.id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/no token .* \(HTTP 404\)/);
  });
});

describe('api-tokens exit codes', () => {
  it('0 for --help, with the exit codes documented', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes: 0 success, 1 failure, 2 usage error, 4');
  });

  it('2 for a wrong flag, printing the usage of that command', async () => {
    const result = await cli(['tokens', 'list', '--bogus']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("error: unknown option '--bogus'");
    expect(result.stderr).toContain('Usage: api-tokens tokens list [options]');
    expect(result.stdout).toBe('');
  });

  it('2 for an unknown command, a missing argument, or a bad --output', async () => {
    expect((await cli(['tokens', 'frobnicate'])).code).toBe(2);
    expect((await cli(['tokens', 'get'])).code).toBe(2);
    expect((await cli(['--output', 'yaml', 'tokens', 'list'])).code).toBe(2);
    expect((await runCli(['--url', 'ftp://example.com', 'whoami'], { home: freshHome() })).code).toBe(2);
  });

  it('4 for an unknown token (401) and for a token lacking the capability (403)', async () => {
    const unknown = await cli(['tokens', 'list'], { token: 'xaat-unknown' });
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toMatch(/\(HTTP 401\)/);
    const narrow = await create(['--name', 'cannot-list', '--dataset', 'logs:query=read']);
    const refused = await cli(['tokens', 'list'], { token: narrow.token });
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/orgCapabilities\.apiTokens: .* \(HTTP 403\)/);
  });

  it('0 and no stack trace when the reader of stdout stops early (api-tokens tokens list | head)', async () => {
    const child = spawn(process.execPath, [cliEntry, '--url', server().baseUrl, 'tokens', 'list'], {
      env: { PATH: process.env.PATH ?? '', HOME: freshHome(), API_TOKENS_TOKEN: ADMIN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Closed before the answer can arrive: writing the listing meets a closed pipe.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const [code] = (await once(child, 'close')) as [number | null];
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('1 when the server cannot be reached', async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const { port } = probe.address() as AddressInfo;
    probe.close();
    await once(probe, 'close');
    const url = `http://127.0.0.1:${port}`;
    const result = await runCli(['--url', url, 'whoami'], {
      home: freshHome(),
      env: { API_TOKENS_TOKEN: ADMIN },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`api-tokens: cannot reach ${url}: ECONNREFUSED\n`);
  });
});
