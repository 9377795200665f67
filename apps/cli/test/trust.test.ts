// The CLI's part in issue 22: `admin new-secret` makes a BOOTSTRAP_TOKEN offline, `tokens leaked` revokes what leaked.
import { hasValidChecksum } from '@api-tokens/client';
import { describe, expect, it } from 'vitest';
import { freshHome, runCli, useServer } from './run.js';

const ADMIN = 'xaat-cliTrustTestAdminSecret0123456789012345678929yb1v';
const server = useServer(ADMIN);

describe('api-tokens admin new-secret', () => {
  it('prints a fresh checksummed secret, needing no server, store or token', async () => {
    const printed = [];
    for (let i = 0; i < 2; i++) {
      // No --url, no DATABASE_URL, no token: it touches nothing.
      const result = await runCli(['admin', 'new-secret'], { home: freshHome() });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^xaat-[0-9A-Za-z]{49}\n$/);
      expect(hasValidChecksum(result.stdout.trim())).toBe(true);
      printed.push(result.stdout);
    }
    expect(printed[0]).not.toBe(printed[1]);
  });
});

describe('api-tokens tokens leaked', () => {
  it('reports secrets from stdin without a token of its own; live ones stop working', async () => {
    const home = freshHome();
    const url = server().baseUrl;
    const created = await runCli(['--url', url, 'tokens', 'create', '--name', 'leaky'], {
      home,
      env: { API_TOKENS_TOKEN: ADMIN },
    });
    expect(created.code).toBe(0);
    const secret = JSON.parse(created.stdout).token as string;
    const reported = await runCli(
      ['--url', url, 'tokens', 'leaked', '--source', 'https://example.com/commit/abc'],
      { home, stdin: `${secret}\nxaat-not-a-secret\n\n` },
    );
    expect(reported.stderr).toBe('');
    expect(reported.code).toBe(0);
    expect(JSON.parse(reported.stdout)).toEqual({ received: 2 });
    expect(reported.stdout).not.toContain(secret);
    const whoami = await runCli(['--url', url, 'whoami'], { home, env: { API_TOKENS_TOKEN: secret } });
    expect(whoami.code).toBe(4);
  });

  it('refuses empty input as a usage error', async () => {
    const result = await runCli(['--url', server().baseUrl, 'tokens', 'leaked'], {
      home: freshHome(),
      stdin: '',
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/tokens leaked: expected secrets on standard input/);
  });
});
