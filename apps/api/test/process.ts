// Starts the built server (dist/index.js) as a real process, the way `npm start` does, on an ephemeral port.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/**
 * How long a test waits for a server process's event (listening, a log line, an exit) before it
 * calls it a timeout. Generous: the machine may be busy with other test files.
 */
export const PROCESS_EVENT_BOUND_MS = 30_000;

/** Test timeout for a case that waits on process events, so the bound above is what reports them. */
export const PROCESS_TEST_TIMEOUT_MS = 2 * PROCESS_EVENT_BOUND_MS + 10_000;

export interface ServerProcess {
  child: ChildProcess;
  baseUrl: string;
  /** Where /metrics is served (its own listener), from the listening log line; undefined with METRICS=off. */
  metricsUrl: string | undefined;
  /** Everything written so far: stdout is the JSON log stream, stderr the console. */
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout matches `pattern`; rejects if the server exits first or it takes too long. */
  logged(pattern: RegExp): Promise<void>;
  /** Resolves with the exit code (null when killed by a signal); rejects if it does not come in time. */
  exited(): Promise<number | null>;
  /** Sends `signal` and resolves with the exit code (null when killed by the signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface SpawnOptions {
  /** Modules to preload with `node --import`, e.g. test fixtures that fault the server. */
  preload?: string[];
}

function spawnServer(env: Record<string, string>, { preload = [] }: SpawnOptions) {
  const nodeArgs = preload.flatMap((module) => ['--import', module]);
  return spawn(process.execPath, [...nodeArgs, entry], { env: { ...process.env, ...env }, stdio: 'pipe' });
}

/** Waits for the child's exit; past the bound it is killed (never left running) and the wait fails as a timeout. */
async function waitForExit(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exit = once(child, 'exit') as Promise<[number | null]>;
  let deadline: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timeout: the server did not exit within ${PROCESS_EVENT_BOUND_MS / 1000} s`));
    }, PROCESS_EVENT_BOUND_MS);
  });
  try {
    const [code] = await Promise.race([exit, timeout]);
    return code;
  } finally {
    clearTimeout(deadline);
  }
}

/**
 * Runs the server to completion when it is expected to refuse to start; resolves with its exit code
 * and output once it exits. One that does not exit in time is killed and the call fails as a timeout.
 */
export async function runServerExpectingExit(env: Record<string, string>) {
  const child = spawnServer({ PORT: '0', METRICS_PORT: '0', ...env }, {});
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const code = await waitForExit(child);
  return { code, stdout, stderr };
}

export async function startServer(
  env: Record<string, string>,
  options: SpawnOptions = {},
): Promise<ServerProcess> {
  const child = spawnServer(
    // METRICS_PORT 0: servers started together (and other suites on this machine) never race for 9464.
    { NODE_ENV: 'test', HOST: '127.0.0.1', PORT: '0', METRICS_PORT: '0', LOG_LEVEL: 'info', ...env },
    options,
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });

  const logged = (pattern: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!pattern.test(stdout)) return;
        done();
        resolve();
      };
      const exited = (code: number | null) => {
        done();
        reject(new Error(`the server exited (${code}) before logging ${pattern}: ${stderr}`));
      };
      const deadline = setTimeout(() => {
        done();
        reject(
          new Error(`timeout: the server did not log ${pattern} within ${PROCESS_EVENT_BOUND_MS / 1000} s`),
        );
      }, PROCESS_EVENT_BOUND_MS);
      const done = () => {
        clearTimeout(deadline);
        child.stdout.off('data', check);
        child.off('exit', exited);
      };
      child.stdout.on('data', check);
      child.once('exit', exited);
      check();
    });

  await logged(/"msg":"listening/);
  const port = Number(/"port":(\d+),"msg":"listening/.exec(stdout)?.[1]);
  const metricsPort = /"metricsPort":(\d+)/.exec(stdout)?.[1];
  return {
    child,
    baseUrl: `http://127.0.0.1:${port}`,
    metricsUrl: metricsPort === undefined ? undefined : `http://127.0.0.1:${metricsPort}`,
    stdout: () => stdout,
    stderr: () => stderr,
    logged,
    exited: () => waitForExit(child),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = waitForExit(child);
      child.kill(signal);
      return exited;
    },
  };
}
