// Where the CLI talks to and with which token: flags, the environment, and the file `api-tokens login` writes.
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { CliError, EXIT, usageError } from './errors.js';

export const DEFAULT_URL = 'http://127.0.0.1:3000';

/** What `login` stores: the server and the token for it. */
export interface StoredLogin {
  url: string;
  token: string;
}

type Env = Record<string, string | undefined>;

/** $XDG_CONFIG_HOME/api-tokens/config.json; the XDG spec ignores an unset, empty or relative value. */
export function configPath(env: Env): string {
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), '.config');
  return join(base, 'api-tokens', 'config.json');
}

export function readLogin(env: Env): StoredLogin | undefined {
  const path = configPath(env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError(`${path}: cannot read it: ${(err as Error).message}`);
  }
  try {
    const stored = JSON.parse(text) as Partial<StoredLogin>;
    if (typeof stored.url === 'string' && typeof stored.token === 'string') {
      return { url: stored.url, token: stored.token };
    }
  } catch {
    // Reported below, like a file of the wrong shape.
  }
  throw new CliError(`${path}: not a login this tool wrote; run api-tokens logout, then api-tokens login`);
}

/**
 * Writes the login readable by its owner only: the directory 0700, the file 0600, created with that
 * mode under a temporary name and renamed into place, so the token is never readable by others,
 * not even for a moment, and a crash never leaves half a file.
 */
export function writeLogin(env: Env, login: StoredLogin): string {
  const path = configPath(env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  chmodSync(dirname(path), 0o700);
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    // One left by a run that died here (same pid, long ago) would make 'wx' fail.
    rmSync(temporary, { force: true });
    writeFileSync(temporary, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    renameSync(temporary, path);
  } catch (err) {
    rmSync(temporary, { force: true });
    throw new CliError(`${path}: cannot write it: ${(err as Error).message}`);
  }
  return path;
}

/** Whether there was a login to remove. */
export function removeLogin(env: Env): boolean {
  const path = configPath(env);
  try {
    rmSync(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new CliError(`${path}: cannot remove it: ${(err as Error).message}`);
  }
}

/** An http(s) URL without a trailing slash, or a usage error naming where it came from. */
export function normalizeUrl(url: string, source: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw usageError(`${source}: not a URL; expected one like ${DEFAULT_URL}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw usageError(`${source}: expected an http or https URL, like ${DEFAULT_URL}`);
  }
  return url.replace(/\/+$/, '');
}

/** The server to talk to: --url, then API_TOKENS_URL, then the one logged in to, then the default. */
export function resolveUrl(flag: string | undefined, env: Env): string {
  if (flag !== undefined) return normalizeUrl(flag, '--url');
  if (env.API_TOKENS_URL) return normalizeUrl(env.API_TOKENS_URL, 'API_TOKENS_URL');
  return readLogin(env)?.url ?? DEFAULT_URL;
}

/**
 * The token to send to `url`: API_TOKENS_TOKEN, else the logged-in one, but only to the server it
 * was logged in to, so that --url never sends a stored secret to another server.
 */
export function resolveToken(url: string, env: Env): string {
  if (env.API_TOKENS_TOKEN) return env.API_TOKENS_TOKEN;
  const login = readLogin(env);
  if (login === undefined) {
    throw new CliError('not logged in: set API_TOKENS_TOKEN, or run api-tokens login', EXIT.auth);
  }
  if (login.url !== url) {
    throw new CliError(
      `no token for ${url} (logged in to ${login.url}): set API_TOKENS_TOKEN, or run api-tokens login --url ${url}`,
      EXIT.auth,
    );
  }
  return login.token;
}
