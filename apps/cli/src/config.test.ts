// Where the CLI talks to and with which token: precedence, the config file's place, and no secret sent to another server.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configPath, DEFAULT_URL, resolveToken, resolveUrl, writeLogin } from './config.js';

const homes: string[] = [];
const home = () => {
  const made = mkdtempSync(join(tmpdir(), 'api-tokens-cli-config-'));
  homes.push(made);
  return made;
};
afterAll(() => {
  for (const made of homes.splice(0)) rmSync(made, { recursive: true, force: true });
});

describe('configPath', () => {
  it('is under XDG_CONFIG_HOME, else ~/.config; a relative XDG_CONFIG_HOME is ignored, as the XDG spec says', () => {
    expect(configPath({ XDG_CONFIG_HOME: '/x', HOME: '/h' })).toBe('/x/api-tokens/config.json');
    expect(configPath({ HOME: '/h' })).toBe('/h/.config/api-tokens/config.json');
    expect(configPath({ XDG_CONFIG_HOME: 'rel', HOME: '/h' })).toBe('/h/.config/api-tokens/config.json');
  });
});

describe('resolveUrl', () => {
  it('takes --url, then API_TOKENS_URL, then the login, then the default; trailing slashes go', () => {
    const env = { HOME: home(), API_TOKENS_URL: 'https://env.example/' };
    expect(resolveUrl('http://flag.example:8080/', env)).toBe('http://flag.example:8080');
    expect(resolveUrl(undefined, env)).toBe('https://env.example');
    const loggedIn = { HOME: home() };
    expect(resolveUrl(undefined, loggedIn)).toBe(DEFAULT_URL);
    writeLogin(loggedIn, { url: 'http://login.example', token: 'xaat-stored' });
    expect(resolveUrl(undefined, loggedIn)).toBe('http://login.example');
  });

  it('refuses what is not an http(s) URL as a usage error naming its source', () => {
    expect(() => resolveUrl('ftp://x', { HOME: home() })).toThrow(/^--url: expected an http or https URL/);
    expect(() => resolveUrl(undefined, { HOME: home(), API_TOKENS_URL: 'nope' })).toThrow(
      /^API_TOKENS_URL: not a URL/,
    );
  });
});

describe('resolveToken', () => {
  it('takes API_TOKENS_TOKEN first, else the stored token, for its own server only', () => {
    const env: Record<string, string | undefined> = { HOME: home() };
    writeLogin(env, { url: 'http://login.example', token: 'xaat-stored' });
    expect(resolveToken('http://login.example', env)).toBe('xaat-stored');
    expect(() => resolveToken('http://other.example', env)).toThrow(/no token for http:\/\/other\.example/);
    env.API_TOKENS_TOKEN = 'xaat-env';
    expect(resolveToken('http://other.example', env)).toBe('xaat-env');
  });
});
