// The CLI and the server's token policy (MAX_TOKEN_LIFETIME): tokens policy shows it, --expires max follows it.
import type { CreateApiTokenResponse } from '@api-tokens/client';
import { describe, expect, it } from 'vitest';
import { freshHome, runCli, useServer } from './run.js';

const ADMIN = 'xaat-Ee0dRPjxsHd9jTEQw6AvZtmBWqIM7HGE4thW4A0ScnF1nR4Xp';
const LIFETIME_S = 30 * 86_400;
const server = useServer(ADMIN, { MAX_TOKEN_LIFETIME: '30d' });

const cli = (args: string[]) =>
  runCli(['--url', server().baseUrl, ...args], { home: freshHome(), env: { API_TOKENS_TOKEN: ADMIN } });

describe('api-tokens and MAX_TOKEN_LIFETIME', () => {
  it('tokens policy prints the longest lifetime, as JSON and as a sentence', async () => {
    const json = await cli(['tokens', 'policy']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ maxLifetimeSeconds: LIFETIME_S });
    const table = await cli(['--output', 'table', 'tokens', 'policy']);
    expect(table.code).toBe(0);
    expect(table.stdout).toBe('Longest lifetime: 30d (every new token must expire within it).\n');
  });

  it('tokens create --expires max makes a token that expires within the cap, a minute short of it', async () => {
    const before = Date.now();
    const created = await cli(['tokens', 'create', '--name', 'longest', '--expires', 'max']);
    const after = Date.now();
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const expiresAt = Date.parse((JSON.parse(created.stdout) as CreateApiTokenResponse).expiresAt ?? '');
    expect(expiresAt).toBeGreaterThanOrEqual(before + (LIFETIME_S - 60) * 1000);
    expect(expiresAt).toBeLessThanOrEqual(after + (LIFETIME_S - 60) * 1000);
  });

  it('tokens create without --expires is refused with the API message naming the cap, exit 1', async () => {
    const refused = await cli(['tokens', 'create', '--name', 'forever']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/expiresAt.*30d/);
  });
});
