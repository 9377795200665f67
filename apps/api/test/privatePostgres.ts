// A PostgreSQL cluster of the test's own (initdb, pg_ctl), which it may stop, crash and restart without touching the shared server.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { appendFile, chmod, chown } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/** How long initdb, a start or a stop may take on a busy machine before the helper calls it a timeout. */
const PG_CTL_BOUND_S = 60;

/** Debian's server binaries, the newest version installed: /usr/lib/postgresql/<version>/bin (PG_BIN_DIR overrides). */
export function postgresBinDir(): string {
  if (process.env.PG_BIN_DIR) return process.env.PG_BIN_DIR;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((version) => existsSync(path.join(root, version, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions[0] === undefined)
    throw new Error(`no PostgreSQL server binaries under ${root}; install postgresql, or set PG_BIN_DIR`);
  return path.join(root, versions[0], 'bin');
}

/** Whether every directory from `dir` up is searchable by others, so the `postgres` user can reach into it. */
function reachableByAll(dir: string): boolean {
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    if ((statSync(at).mode & 0o001) === 0) return false;
    if (path.dirname(at) === at) return true;
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export type ShutdownMode = 'smart' | 'fast' | 'immediate';

export interface PrivatePostgres {
  port: number;
  /** postgres://postgres@127.0.0.1:<port>/<database>. */
  url(database?: string): string;
  /** pg_ctl start, waiting until the server accepts connections. */
  start(): Promise<void>;
  /** pg_ctl stop -m <mode>; `wait` false returns as soon as the shutdown is under way (smart waits for clients). */
  stop(mode: ShutdownMode, options?: { wait?: boolean }): Promise<void>;
  /** The postmaster's pid while it runs. */
  postmasterPid(): number | undefined;
  /** Runs one statement as the superuser on `database` (default postgres), on a connection of its own. */
  query<Row extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
    database?: string,
  ): Promise<pg.QueryResult<Row>>;
  /** Stops the server at once and removes its directory; safe to call twice. */
  destroy(): Promise<void>;
}

export interface PrivatePostgresOptions {
  /** postgresql.conf settings beyond the helper's own. */
  settings?: Record<string, string | number>;
}

/** Clusters still to remove should the test process end without its teardown. */
const alive = new Set<{ dataDir: string; root: string }>();
process.once('exit', () => {
  for (const cluster of alive) {
    try {
      const pid = Number(readFileSync(path.join(cluster.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      if (pid > 0) process.kill(pid, 'SIGQUIT'); // immediate shutdown
    } catch {
      // not running
    }
    rmSync(cluster.root, { recursive: true, force: true });
  }
});

/**
 * initdb's a new cluster in a temporary directory, configured for tests (trust authentication,
 * 127.0.0.1 and a unix socket in that directory, a free port, no fsync: the tests crash the
 * server's processes, never the machine) and starts it. As root, every server command runs as the
 * `postgres` user (`runuser`), since initdb and postgres refuse to run as root.
 */
export async function startPrivatePostgres({
  settings = {},
}: PrivatePostgresOptions = {}): Promise<PrivatePostgres> {
  const bin = postgresBinDir();
  const asRoot = process.getuid?.() === 0;
  const base = reachableByAll(tmpdir()) ? tmpdir() : '/tmp';
  const root = mkdtempSync(path.join(base, 'api-tokens-pg-'));
  const dataDir = path.join(root, 'data');
  const cluster = { dataDir, root };
  alive.add(cluster);
  const command = async (program: string, args: string[]) => {
    const [file, argv] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', path.join(bin, program), ...args]]
      : [path.join(bin, program), args];
    try {
      return await run(file, argv, { cwd: root, timeout: (PG_CTL_BOUND_S + 10) * 1000 });
    } catch (err) {
      const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
      let log = '';
      try {
        log = readFileSync(path.join(root, 'server.log'), 'utf8').slice(-2000);
      } catch {}
      throw new Error(`${program} ${args.join(' ')} failed: ${stderr || stdout}\n${log}`, { cause: err });
    }
  };
  let port = 0;
  try {
    if (asRoot) await chown(root, ...(await postgresIds()));
    await chmod(root, 0o700);
    await command('initdb', [
      '-D',
      dataDir,
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    port = await freePort();
    const conf = {
      listen_addresses: "'127.0.0.1'",
      port,
      unix_socket_directories: `'${root}'`,
      fsync: 'off',
      full_page_writes: 'off',
      shared_buffers: "'16MB'",
      max_wal_size: "'64MB'",
      logging_collector: 'off',
      ...settings,
    };
    await appendFile(
      path.join(dataDir, 'postgresql.conf'),
      `\n${Object.entries(conf)
        .map(([name, value]) => `${name} = ${value}`)
        .join('\n')}\n`,
    );
  } catch (err) {
    alive.delete(cluster);
    rmSync(root, { recursive: true, force: true });
    throw err;
  }

  const pgCtl = (args: string[]) =>
    command('pg_ctl', [
      '-D',
      dataDir,
      '-l',
      path.join(root, 'server.log'),
      '-t',
      String(PG_CTL_BOUND_S),
      ...args,
    ]);
  const url = (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`;
  let destroyed = false;
  const cluster_: PrivatePostgres = {
    port,
    url,
    async start() {
      await pgCtl(['-w', 'start']);
    },
    async stop(mode, { wait = true } = {}) {
      await pgCtl([wait ? '-w' : '-W', '-m', mode, 'stop']);
    },
    postmasterPid() {
      try {
        const pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
        return pid > 0 ? pid : undefined;
      } catch {
        return undefined;
      }
    },
    async query(text, values = [], database = 'postgres') {
      const client = new pg.Client({ connectionString: url(database), connectionTimeoutMillis: 10_000 });
      await client.connect();
      try {
        return await client.query(text, values);
      } finally {
        await client.end();
      }
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      try {
        if (cluster_.postmasterPid() !== undefined) await pgCtl(['-w', '-m', 'immediate', 'stop']);
      } catch {
        // Already stopped.
      } finally {
        alive.delete(cluster);
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
  try {
    await cluster_.start();
  } catch (err) {
    await cluster_.destroy();
    throw err;
  }
  return cluster_;
}

/** The `postgres` user's uid and gid. */
async function postgresIds(): Promise<[number, number]> {
  const { stdout } = await run('id', ['-u', 'postgres']);
  const { stdout: group } = await run('id', ['-g', 'postgres']);
  return [Number(stdout.trim()), Number(group.trim())];
}
