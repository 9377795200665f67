import type { ApiTokenVerdict, CreateApiTokenResponse } from '@api-tokens/client';
import { describe, expect, it } from 'vitest';
import { freshHome, runCli, useServer } from './run.js';

const ADMIN = 'xaat-cliVerifyTestAdmin01234567890123456789012344F1dRO';
const UNKNOWN = `xaat-${'0'.repeat(43)}`;
const server = useServer(ADMIN);

/** The CLI against the test server as `token` (the admin by default), `stdin` its standard input. */
const cli = (args: string[], { token = ADMIN, stdin = '' }: { token?: string; stdin?: string } = {}) =>
  runCli(['--url', server().baseUrl, ...args], {
    home: freshHome(),
    stdin,
    env: { API_TOKENS_TOKEN: token },
  });

async function create(args: string[]): Promise<CreateApiTokenResponse> {
  const result = await cli(['tokens', 'create', ...args]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as CreateApiTokenResponse;
}

const verify = (secret: string, args: string[] = [], token?: string) =>
  cli(['tokens', 'verify', ...args], { stdin: `${secret}\n`, token });

describe('api-tokens tokens verify', () => {
  it('exits 0 for a live token holding what --org, --dataset and --view require, printing the API answer', async () => {
    const held = await create([
      '--name',
      'held',
      '--org',
      'dashboards=read',
      '--dataset',
      'logs:ingest=create',
      '--view',
      'errors:query=read',
    ]);
    const result = await verify(held.token, [
      '--org',
      'dashboards=read',
      '--dataset',
      'logs:ingest=create',
      '--view',
      'errors:query=read',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const verdict = JSON.parse(result.stdout) as ApiTokenVerdict;
    expect(verdict).toMatchObject({ valid: true, code: 'VALID', token: { id: held.id, name: 'held' } });
    expect(result.stdout).not.toContain(held.token);
  });

  it('exits 0 for any live token when nothing is required, and prints a table', async () => {
    const bare = await create(['--name', 'bare']);
    const result = await verify(bare.token, ['-o', 'table']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`Verdict: VALID\nToken:   ${bare.id} (bare)\n`);
  });

  it('exits 1 for a token lacking what is required, listing each missing action', async () => {
    const reader = await create(['--name', 'reader', '--dataset', 'logs:query=read']);
    const args = [
      '--dataset',
      'logs:ingest=create',
      '--dataset',
      'logs:query=read',
      '--org',
      'apiTokens=read',
    ];
    const json = await verify(reader.token, args);
    expect(json.code).toBe(1);
    expect(json.stderr).toBe('api-tokens: the token is not valid: INSUFFICIENT_CAPABILITIES\n');
    const verdict = JSON.parse(json.stdout);
    expect(verdict).toMatchObject({
      valid: false,
      code: 'INSUFFICIENT_CAPABILITIES',
      token: { id: reader.id },
    });
    expect([...verdict.missing].sort()).toEqual(
      ['datasetCapabilities.logs.ingest:create', 'orgCapabilities.apiTokens:read'].sort(),
    );

    const table = await verify(reader.token, [...args, '-o', 'table']);
    expect(table.code).toBe(1);
    expect(table.stdout).toMatch(
      new RegExp(
        `^Verdict: +INSUFFICIENT_CAPABILITIES\nToken: +${reader.id} \\(reader\\)\nMissing: +\\S+\n +\\S+\n$`,
      ),
    );
    for (const action of verdict.missing) expect(table.stdout).toContain(action);
  });

  it('exits 1 with NOT_FOUND for an unknown token and for one deleted', async () => {
    const doomed = await create(['--name', 'doomed']);
    expect((await cli(['tokens', 'delete', doomed.id])).code).toBe(0);
    for (const secret of [UNKNOWN, doomed.token]) {
      const result = await verify(secret);
      expect(result.code).toBe(1);
      expect(JSON.parse(result.stdout)).toEqual({ valid: false, code: 'NOT_FOUND' });
      expect(result.stderr).toBe('api-tokens: the token is not valid: NOT_FOUND\n');
    }
  });

  it('takes --client-address: a token bound to networks is VALID from inside, ADDRESS_NOT_ALLOWED elsewhere', async () => {
    const bound = await create(['--name', 'bound', '--cidr', '203.0.113.0/24']);
    const inside = await verify(bound.token, ['--client-address', '203.0.113.7']);
    expect(inside.code, inside.stderr).toBe(0);
    expect((JSON.parse(inside.stdout) as ApiTokenVerdict).code).toBe('VALID');
    for (const args of [['--client-address', '198.51.100.4'], []]) {
      const refused = await verify(bound.token, args);
      expect(refused.code).toBe(1);
      expect(JSON.parse(refused.stdout)).toEqual({ valid: false, code: 'ADDRESS_NOT_ALLOWED' });
      expect(refused.stderr).toContain('ADDRESS_NOT_ALLOWED');
    }
  });

  it('exits 4 when your own token is unknown or lacks apiTokens: read', async () => {
    const bare = await create(['--name', 'bare-caller']);
    const unknownCaller = await verify(bare.token, [], UNKNOWN);
    expect(unknownCaller.code).toBe(4);
    expect(unknownCaller.stderr).toMatch(/\(HTTP 401\)/);
    const narrowCaller = await verify(bare.token, [], bare.token);
    expect(narrowCaller.code).toBe(4);
    expect(narrowCaller.stderr).toMatch(/orgCapabilities\.apiTokens: .* \(HTTP 403\)/);
    expect(narrowCaller.stderr).not.toContain(bare.token);
  });

  it('exits 2 for a token on the command line, nothing on stdin, or a malformed flag', async () => {
    const onArgv = await cli(['tokens', 'verify', UNKNOWN]);
    expect(onArgv.code).toBe(2);
    expect(onArgv.stderr).toContain('Usage: api-tokens tokens verify');
    for (const stdin of ['', 'two words\n']) {
      const empty = await cli(['tokens', 'verify'], { stdin });
      expect(empty.code).toBe(2);
      expect(empty.stderr).toMatch(/tokens verify: expected one token on standard input/);
    }
    const badFlag = await verify(UNKNOWN, ['--dataset', 'ingest=create']);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toMatch(/is invalid\. expected DATASET:CAPABILITY=ACTION/);
  });

  it('documents its exit codes in --help', async () => {
    const help = await cli(['tokens', 'verify', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes: 0 the token is VALID; 1 any other verdict');
    expect(help.stdout).toContain('4 your own token refused (401, 403)');
  });
});
