// The api-tokens command line: commander wiring from arguments to API calls, output and exit codes.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import {
  type ApiToken,
  type Client,
  type CreateApiToken,
  createApiToken,
  deleteApiToken,
  generateSecret,
  getApiToken,
  getApiTokenPolicy,
  getApiTokens,
  getCurrentApiToken,
  type RegenerateApiToken,
  type RequiredCapabilities,
  regenerateApiToken,
  reportLeakedApiTokens,
  verifyApiToken,
} from '@api-tokens/client';
import { formatDuration } from '@api-tokens/client/durations';
import { LeakedAPITokensSchema } from '@api-tokens/client/schemas';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { anonymousClient, apiClient, expectSuccess } from './api.js';
import { configPath, removeLogin, resolveToken, resolveUrl, writeLogin } from './config.js';
import { parseDuration, parseExpiry } from './durations.js';
import { CliError, EXIT, usageError } from './errors.js';
import { type ActionLists, parseOrgGrant, type ScopedGrants, scopedGrantParser } from './grants.js';
import {
  type OutputFormat,
  printJson,
  printSecret,
  printToken,
  printTokenList,
  printVerdict,
  type Write,
} from './output.js';

/** What the program reads and writes: the process's own streams and environment, or a test's. */
export interface Io {
  stdout: Write;
  stderr: Write;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdoutIsTTY: boolean;
  env: Record<string, string | undefined>;
  now: () => Date;
}

/** The API refuses bodies over 64 KiB; a file much larger than that is a mistake, not a token. */
const MAX_INPUT_BYTES = 1024 * 1024;

/** Options every command takes, wherever they appear on the line. */
interface GlobalOptions {
  url?: string;
  output?: OutputFormat;
}

async function readAll(stream: NodeJS.ReadableStream, what: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > MAX_INPUT_BYTES) throw usageError(`${what}: more than ${MAX_INPUT_BYTES} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** One line typed at a terminal, not echoed: a secret must not stay on the screen or in scrollback. */
async function readHiddenLine(io: Io, prompt: string): Promise<string> {
  const silent = new Writable({ write: (_chunk, _encoding, done) => done() });
  // The interface puts the terminal in raw mode (no echo) before the prompt invites typing.
  const lines = createInterface({ input: io.stdin, output: silent, terminal: true });
  io.stderr(prompt);
  try {
    const [line] = (await once(lines, 'line')) as [string];
    return line;
  } finally {
    lines.close();
    io.stderr('\n');
  }
}

/** The Link header's rel="next" cursor, when more pages may follow. */
function nextCursor(link: string | null, url: string): string | undefined {
  const target = /<([^>]*)>\s*;\s*rel="?next"?/i.exec(link ?? '')?.[1];
  return target === undefined ? undefined : (new URL(target, url).searchParams.get('cursor') ?? undefined);
}

const positiveInteger = (text: string) => {
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new InvalidArgumentError('expected a whole number, 1 or more.');
  }
  return Number(text);
};

/** `--expires max`: replaced by the longest expiry the server's policy allows, read just before the create. */
const MAX_EXPIRY = 'max';

/**
 * The latest expiry a token made now may have under the policy, a minute short of the cap so that
 * a clock a little ahead of the server's is not refused; undefined (never expires) with no cap.
 */
function longestExpiry(maxLifetimeSeconds: number | null, now: Date): string | undefined {
  if (maxLifetimeSeconds === null) return undefined;
  const margin = Math.min(60, maxLifetimeSeconds / 2);
  return new Date(now.getTime() + (maxLifetimeSeconds - margin) * 1000).toISOString();
}

export function createProgram(io: Io): Command {
  const program = new Command('api-tokens');
  // Settings before any .command(): subcommands inherit them.
  program
    .description('Manage api-tokens tokens from a terminal or a script.')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError()
    .option(
      '--url <url>',
      `the server (default: API_TOKENS_URL, the logged-in server, or http://127.0.0.1:3000)`,
    )
    .addOption(
      new Option(
        '-o, --output <format>',
        'table for people, json for scripts (default: table on a terminal, else json)',
      ).choices(['table', 'json']),
    )
    .addHelpText(
      'after',
      '\nThe token comes from API_TOKENS_TOKEN, or from api-tokens login.\n' +
        'Exit codes: 0 success, 1 failure, 2 usage error, 4 authentication or permission refused.',
    );

  const globals = (command: Command) => command.optsWithGlobals() as GlobalOptions;
  const format = (command: Command): OutputFormat =>
    globals(command).output ?? (io.stdoutIsTTY ? 'table' : 'json');
  const connect = (command: Command): { url: string; client: Client } => {
    const url = resolveUrl(globals(command).url, io.env);
    return { url, client: apiClient(url, resolveToken(url, io.env)) };
  };
  const show = (command: Command, token: ApiToken, secret?: string) => {
    if (format(command) === 'json')
      return printJson(io.stdout, secret === undefined ? token : { ...token, token: secret });
    printToken(io.stdout, token);
    if (secret !== undefined) printSecret(io.stdout, secret);
  };

  program
    .command('login')
    .description(
      'read a token from standard input, check it with the server, and store it for later commands',
    )
    .action(async (_options, command: Command) => {
      const url = resolveUrl(globals(command).url, io.env);
      const token = await readSecret(
        io,
        `Paste the token for ${url} (input hidden), then press Enter: `,
        'login: expected one token on standard input, like: api-tokens login < token.txt',
      );
      const { data } = await expectSuccess(url, getCurrentApiToken({ client: apiClient(url, token) }));
      const path = writeLogin(io.env, { url, token });
      io.stderr(`Logged in to ${url} as ${data.name} (${data.id}); the token is stored in ${path}\n`);
    });

  program
    .command('logout')
    .description('remove the stored token')
    .action(() => {
      const removed = removeLogin(io.env);
      io.stderr(removed ? `Logged out: removed ${configPath(io.env)}\n` : 'Not logged in.\n');
    });

  program
    .command('whoami')
    .description('show the token the CLI authenticates with (GET /v2/tokens/self)')
    .action(async (_options, command: Command) => {
      const { url, client } = connect(command);
      const { data } = await expectSuccess(url, getCurrentApiToken({ client }));
      if (format(command) === 'table') io.stdout(`Server: ${url}\n`);
      show(command, data);
    });

  const tokens = program
    .command('tokens')
    .description('list, read, create, regenerate, delete and verify tokens');

  tokens
    .command('list')
    .description('list the live tokens, oldest first')
    .option('--limit <n>', 'at most this many tokens', positiveInteger)
    .action(async (options: { limit?: number }, command: Command) => {
      const { url, client } = connect(command);
      let listed: ApiToken[] = [];
      if (options.limit === undefined) {
        listed = (await expectSuccess(url, getApiTokens({ client }))).data;
      } else {
        // Pages can be short (the server skips expired tokens); follow Link until enough or no more.
        let cursor: string | undefined;
        do {
          const query = { limit: Math.min(1000, options.limit - listed.length), cursor };
          const { data, response } = await expectSuccess(url, getApiTokens({ client, query }));
          listed = [...listed, ...data];
          cursor = nextCursor(response.headers.get('link'), url);
        } while (cursor !== undefined && listed.length < options.limit);
      }
      if (format(command) === 'json') printJson(io.stdout, listed);
      else printTokenList(io.stdout, listed);
    });

  tokens
    .command('get')
    .description('show one token')
    .argument('<id>', 'the token id')
    .action(async (id: string, _options, command: Command) => {
      const { url, client } = connect(command);
      show(command, (await expectSuccess(url, getApiToken({ client, path: { id } }))).data);
    });

  const collectScoped = (kind: 'dataset' | 'view') => {
    const parse = scopedGrantParser(kind);
    return (text: string, previous: ScopedGrants | undefined) => parse(text, previous);
  };
  tokens
    .command('create')
    .description('create a token; its secret is printed once')
    .option('--name <name>', 'the name (required, unless --from-json gives one)')
    .option('--description <text>', 'what the token is for')
    .option(
      '--expires <when>',
      "a duration from now (30d, 12h, 1h30m), a date-time (2027-01-31T00:00:00Z), or 'max': the longest the server's MAX_TOKEN_LIFETIME allows (see tokens policy)",
      (text) => (text.trim() === 'max' ? MAX_EXPIRY : parseExpiry(text, io.now())),
    )
    .option('--org <grant>', 'an organisation grant, like apiTokens=create,read (repeatable)', parseOrgGrant)
    .option(
      '--dataset <grant>',
      'a dataset grant, like logs-prod:ingest=create (repeatable)',
      collectScoped('dataset'),
    )
    .option('--view <grant>', 'a view grant, like errors:query=read (repeatable)', collectScoped('view'))
    .option(
      '--cidr <cidr>',
      'a network the token works from, like 203.0.113.0/24 or 2001:db8::/32 (repeatable; none: anywhere)',
      (text: string, previous: string[] | undefined) => [...(previous ?? []), text.trim()],
    )
    .option(
      '--not-before <when>',
      'when the token starts working: a date-time (2027-01-31T00:00:00Z) or a duration from now (1d)',
      (text) => parseExpiry(text, io.now()),
    )
    .option(
      '--from-json <file>',
      "the request body from a JSON file, or '-' for standard input; flags add to it",
    )
    .action(
      async (
        options: {
          name?: string;
          description?: string;
          expires?: string;
          cidr?: string[];
          notBefore?: string;
          org?: ActionLists;
          dataset?: ScopedGrants;
          view?: ScopedGrants;
          fromJson?: string;
        },
        command: Command,
      ) => {
        const body = options.fromJson === undefined ? {} : await readBody(io, options.fromJson);
        const merged = {
          ...body,
          ...(options.name === undefined ? {} : { name: options.name }),
          ...(options.description === undefined ? {} : { description: options.description }),
          ...(options.expires === undefined ? {} : { expiresAt: options.expires }),
          ...(options.cidr === undefined ? {} : { allowedCidrs: options.cidr }),
          ...(options.notBefore === undefined ? {} : { notBefore: options.notBefore }),
          ...(options.org === undefined
            ? {}
            : { orgCapabilities: { ...body.orgCapabilities, ...options.org } }),
          ...(options.dataset === undefined
            ? {}
            : { datasetCapabilities: { ...body.datasetCapabilities, ...options.dataset } }),
          ...(options.view === undefined
            ? {}
            : { viewCapabilities: { ...body.viewCapabilities, ...options.view } }),
        } as CreateApiToken;
        if (merged.name === undefined)
          throw usageError('tokens create: --name is required (or a name in --from-json)');
        const { url, client } = connect(command);
        if (options.expires === MAX_EXPIRY) {
          const { data: policy } = await expectSuccess(url, getApiTokenPolicy({ client }));
          merged.expiresAt = longestExpiry(policy.maxLifetimeSeconds, io.now());
        }
        const { data } = await expectSuccess(url, createApiToken({ client, body: merged }));
        const { token: secret, ...token } = data;
        if (format(command) === 'table') io.stdout(`Created token ${token.id}.\n`);
        show(command, token, secret);
      },
    );

  tokens
    .command('policy')
    .description("show the server's limits on new tokens: the longest lifetime (MAX_TOKEN_LIFETIME), if any")
    .action(async (_options, command: Command) => {
      const { url, client } = connect(command);
      const { data: policy } = await expectSuccess(url, getApiTokenPolicy({ client }));
      if (format(command) === 'json') return printJson(io.stdout, policy);
      io.stdout(
        policy.maxLifetimeSeconds === null
          ? 'Longest lifetime: no limit (tokens may also never expire).\n'
          : `Longest lifetime: ${formatDuration(policy.maxLifetimeSeconds * 1000)} (every new token must expire within it).\n`,
      );
    });

  tokens
    .command('delete')
    .description('delete a token: its secret stops working at once')
    .argument('<id>', 'the token id')
    .action(async (id: string, _options, command: Command) => {
      const { url, client } = connect(command);
      await expectSuccess(url, deleteApiToken({ client, path: { id } }));
      // The API answers 204 without a body; a script reads the exit code.
      if (format(command) === 'table') io.stdout(`Deleted token ${id}.\n`);
    });

  tokens
    .command('regenerate')
    .description('replace a token by a new one with a new secret, printed once')
    .argument('<id>', 'the token id')
    .option(
      '--grace <duration>',
      'how long the old secret keeps working, like 1h (default: 0, revoked at once)',
      (text) => parseDuration(text, { allowZero: true }),
    )
    .option(
      '--expires <when>',
      "the replacement's expiry: a duration from now or a date-time (default: the old token's)",
      (text) => parseExpiry(text, io.now()),
    )
    .action(async (id: string, options: { grace?: number; expires?: string }, command: Command) => {
      const body: RegenerateApiToken = {
        existingTokenExpiresAt: new Date(io.now().getTime() + (options.grace ?? 0)).toISOString(),
        ...(options.expires === undefined ? {} : { newTokenExpiresAt: options.expires }),
      };
      const { url, client } = connect(command);
      const { data } = await expectSuccess(url, regenerateApiToken({ client, path: { id }, body }));
      const { token: secret, ...token } = data;
      if (format(command) === 'table') {
        io.stdout(`Regenerated token ${id}: the old secret works until ${body.existingTokenExpiresAt}.\n`);
        io.stdout(`The replacement is ${token.id}.\n`);
      }
      show(command, token, secret);
    });

  tokens
    .command('verify')
    .description(
      'check a token read from standard input: is it live, and does it hold what the flags require? ' +
        '(POST /v2/tokens/verify; your own token needs apiTokens: read)',
    )
    .option('--org <grant>', 'require an organisation grant, like apiTokens=read (repeatable)', parseOrgGrant)
    .option(
      '--dataset <grant>',
      'require a dataset grant, like logs-prod:ingest=create (repeatable)',
      collectScoped('dataset'),
    )
    .option(
      '--view <grant>',
      'require a view grant, like errors:query=read (repeatable)',
      collectScoped('view'),
    )
    .option(
      '--client-address <ip>',
      'the address the token came from; a token bound to networks is valid only from inside them',
    )
    .addHelpText(
      'after',
      '\nThe token to check comes from standard input (never the command line): api-tokens tokens verify < token.txt\n' +
        'Exit codes: 0 the token is VALID; 1 any other verdict (INSUFFICIENT_CAPABILITIES, EXPIRED, NOT_FOUND,\n' +
        'NOT_YET_VALID, ADDRESS_NOT_ALLOWED, RATE_LIMITED) or a failure; 2 usage error; 4 your own token refused (401, 403).',
    )
    .action(
      async (
        options: { org?: ActionLists; dataset?: ScopedGrants; view?: ScopedGrants; clientAddress?: string },
        command: Command,
      ) => {
        const required: RequiredCapabilities = {
          ...(options.org === undefined ? {} : { orgCapabilities: options.org }),
          ...(options.dataset === undefined ? {} : { datasetCapabilities: options.dataset }),
          ...(options.view === undefined ? {} : { viewCapabilities: options.view }),
        } as RequiredCapabilities;
        const secret = await readSecret(
          io,
          'Paste the token to verify (input hidden), then press Enter: ',
          'tokens verify: expected one token on standard input, like: api-tokens tokens verify < token.txt',
        );
        const { url, client } = connect(command);
        const body = {
          token: secret,
          ...(Object.keys(required).length === 0 ? {} : { require: required }),
          ...(options.clientAddress === undefined ? {} : { clientAddress: options.clientAddress }),
        };
        const { data } = await expectSuccess(url, verifyApiToken({ client, body }));
        if (format(command) === 'json') printJson(io.stdout, data);
        else printVerdict(io.stdout, data);
        // Scripts read the exit code: 1 for every verdict but VALID, the code on stderr too.
        if (!data.valid) throw new CliError(`the token is not valid: ${data.code}`, EXIT.failure);
      },
    );

  tokens
    .command('leaked')
    .description(
      'report secrets found where they should not be, read from standard input (one per line): ' +
        'every live token among them is revoked at once (POST /v2/tokens/leaked; needs no token of your own)',
    )
    .option('--source <url>', 'where they were found, like the URL of a commit; recorded in the audit trail')
    .addHelpText(
      'after',
      '\nExample: api-tokens tokens leaked --source https://example.com/commit/abc < secrets.txt\n',
    )
    .action(async (options: { source?: string }, command: Command) => {
      const expected =
        'tokens leaked: expected secrets on standard input, one per line, like: api-tokens tokens leaked --source URL < secrets.txt';
      // Typed at a terminal they would be echoed, and a leak report is never urgent enough for that.
      if (io.stdin.isTTY) throw usageError(expected);
      const secrets = (await readAll(io.stdin, 'standard input')).split(/\s+/).filter((line) => line !== '');
      if (secrets.length === 0) throw usageError(expected);
      const url = resolveUrl(globals(command).url, io.env);
      const client = anonymousClient(url);
      let received = 0;
      // The API takes at most LEAK_REPORT_BATCH secrets per report.
      for (let start = 0; start < secrets.length; start += LEAK_REPORT_BATCH) {
        const body = {
          tokens: secrets.slice(start, start + LEAK_REPORT_BATCH),
          ...(options.source === undefined ? {} : { source: options.source }),
        };
        received += (await expectSuccess(url, reportLeakedApiTokens({ client, body }))).data.received;
      }
      if (format(command) === 'json') return printJson(io.stdout, { received });
      io.stdout(`Reported ${received} secret(s); every live token among them is revoked.\n`);
    });

  const admin = program
    .command('admin')
    .description(
      'operator commands: recover admin access in the database, make a secret for BOOTSTRAP_TOKEN',
    );

  admin
    .command('new-secret')
    .description(
      'print a fresh secret in the checksummed format, for BOOTSTRAP_TOKEN; touches no server and no store',
    )
    .action(() => {
      io.stdout(`${generateSecret()}\n`);
    });

  admin
    .command('recover')
    .description(
      'when every admin secret is lost: create a token holding every capability, directly in the store ' +
        '(stop the server first), and print its secret once',
    )
    .option(
      '--database <url>',
      'the DATABASE_URL the server uses, like sqlite:./data/tokens.db (default: DATABASE_URL)',
    )
    .action(async (options: { database?: string }, command: Command) => {
      const database = options.database ?? io.env.DATABASE_URL;
      if (database === undefined || database === '') {
        throw usageError('admin recover: --database is required, like --database sqlite:./data/tokens.db');
      }
      // Loaded only here: the store's modules (better-sqlite3) are no part of the everyday commands.
      const { recoverAdmin, RecoveryError } = await import('@api-tokens/api/admin');
      let recovered: Awaited<ReturnType<typeof recoverAdmin>>;
      try {
        recovered = await recoverAdmin(database, { now: io.now() });
      } catch (err) {
        if (err instanceof RecoveryError) throw new CliError(`admin recover: ${err.message}`);
        throw err;
      }
      const { secret, ...token } = recovered;
      if (format(command) === 'json') return printJson(io.stdout, { ...token, token: secret });
      io.stdout(
        `Recovered an admin token holding every capability: ${token.name} (${token.id}).\n` +
          'Create narrower tokens with it, and delete it once you are back in.\n',
      );
      printSecret(io.stdout, secret);
    });

  return program;
}

/** The most secrets POST /v2/tokens/leaked takes in one report: the spec's maxItems. */
const LEAK_REPORT_BATCH = LeakedAPITokensSchema.properties.tokens.maxItems;

/** One secret from standard input, or typed at a terminal without echo; anything else is a usage error. */
async function readSecret(io: Io, prompt: string, expected: string): Promise<string> {
  const text = io.stdin.isTTY ? await readHiddenLine(io, prompt) : await readAll(io.stdin, 'standard input');
  const secret = text.trim();
  if (secret === '' || /\s/.test(secret)) throw usageError(expected);
  return secret;
}

/** A create body from --from-json: a file, or '-' for standard input; it must be a JSON object. */
async function readBody(io: Io, source: string): Promise<Partial<CreateApiToken>> {
  const what = source === '-' ? '--from-json -' : `--from-json ${source}`;
  let text: string;
  try {
    text = source === '-' ? await readAll(io.stdin, what) : readFileSync(source, 'utf8');
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw usageError(`${what}: cannot read it: ${(err as Error).message}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw usageError(`${what}: not valid JSON: ${(err as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw usageError(`${what}: expected a JSON object, the body of POST /v2/tokens`);
  }
  return body as Partial<CreateApiToken>;
}

/** Runs the command line `argv` (without node and the script) and resolves with the exit code. */
export async function run(argv: string[], io: Io): Promise<number> {
  try {
    await createProgram(io).parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    // Commander has already printed its message and the usage; --help and --version end with 0.
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (err instanceof CliError) {
      io.stderr(`api-tokens: ${err.message}\n`);
      return err.exitCode;
    }
    io.stderr(`api-tokens: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.failure;
  }
}
