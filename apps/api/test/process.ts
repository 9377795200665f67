// Starts the built server (dist/index.js) as a real process, the way `npm start` does, on an ephemeral port.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/** A server's answer: status, headers and the JSON body (undefined when empty). */
export interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers, checked field by field
  body: any;
}

/**
 * Calls a server process as a client would: `secret` as the bearer token, `body` as JSON. Each call
 * on a connection of its own (`Connection: close`): a kept-alive connection that the server closes
 * as idle at the moment a request is written on it fails that request ("other side closed"), a race
 * of the client's, not the server's, which fetch does not retry for a POST. The tests that use this
 * check what the server answers, not connection reuse.
 */
export async function callServer(
  server: Pick<ServerProcess, 'baseUrl'>,
  method: string,
  path: string,
  secret?: string,
  body?: unknown,
): Promise<Answer> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const { status, headers, text } = await new Promise<{ status: number; headers: Headers; text: string }>(
    (resolve, reject) => {
      const call = request(
        `${server.baseUrl}${path}`,
        {
          method,
          agent: false,
          headers: {
            Connection: 'close',
            ...(secret === undefined ? {} : { Authorization: `Bearer ${secret}` }),
            ...(payload === undefined ? {} : { 'Content-Type': 'application/json' }),
          },
        },
        (response) => {
          let received = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            received += chunk;
          });
          response.on('error', reject);
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              headers: new Headers(
                Object.entries(response.headers).flatMap(([name, value]): [string, string][] =>
                  value === undefined
                    ? []
                    : Array.isArray(value)
                      ? value.map((one): [string, string] => [name, one])
                      : [[name, value]],
                ),
              ),
              text: received,
            }),
          );
        },
      );
      call.on('error', reject);
      call.end(payload);
    },
  );
  return { status, headers, body: text === '' ? undefined : JSON.parse(text) };
}

export interface SpawnOptions {
  /** Modules to preload with `node --import`, e.g. test fixtures that fault the server. */
  preload?: string[];
}

/** Where each server process writes a diagnostic report when asked (DIAGNOSTIC_SIGNAL); removed when it exits. */
const reportDirectories = new WeakMap<ChildProcess, string>();

/** Asks a server for Node's diagnostic report (its JavaScript stack and every libuv handle) without stopping it. */
const DIAGNOSTIC_SIGNAL = 'SIGUSR2';

function spawnServer(env: Record<string, string>, { preload = [] }: SpawnOptions) {
  const nodeArgs = preload.flatMap((module) => ['--import', module]);
  const reports = mkdtempSync(join(tmpdir(), 'api-tokens-report-'));
  const child = spawn(
    process.execPath,
    [
      ...nodeArgs,
      '--report-on-signal',
      `--report-signal=${DIAGNOSTIC_SIGNAL}`,
      `--report-directory=${reports}`,
      entry,
    ],
    { env: { ...process.env, ...env }, stdio: 'pipe' },
  );
  reportDirectories.set(child, reports);
  child.once('exit', () => rmSync(reports, { recursive: true, force: true }));
  return child;
}

/**
 * What a server that does not exit is still doing: its diagnostic report, cut to the JavaScript
 * stack and the libuv handles that are active (what keeps the event loop alive). Bounded: a process
 * too stuck to answer gets a note saying so.
 */
async function diagnose(child: ChildProcess): Promise<string> {
  const reports = reportDirectories.get(child);
  if (reports === undefined || !child.kill(DIAGNOSTIC_SIGNAL))
    return 'no diagnostic report: the signal failed';
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const [file] = readdirSync(reports).filter((name) => name.endsWith('.json'));
    if (file !== undefined) {
      try {
        const report = JSON.parse(readFileSync(join(reports, file), 'utf8'));
        const handles = (report.libuv as { type: string; is_active?: boolean }[]).filter(
          (handle) => handle.is_active,
        );
        return JSON.stringify(
          {
            javascriptStack: report.javascriptStack,
            activeHandles: handles,
            workers: report.workers?.length ?? 0,
          },
          null,
          1,
        );
      } catch {
        // Still being written.
      }
    }
    // Polling, bounded: the report has no event of its own, and this only explains a failure, never decides one.
    await new Promise<void>((resolve) => setTimeout(resolve, 50));
  }
  // Either stuck outside JavaScript (a blocking system call), or so starved of CPU it wrote nothing yet;
  // a process signalled before Node installed its handler is ended by the signal instead.
  return `no diagnostic report within 10 s (exit code ${child.exitCode}, signal ${child.signalCode})`;
}

/**
 * Waits for the child's exit; past the bound it is diagnosed (diagnose above, in the error), killed
 * (never left running), and the wait fails as a timeout.
 */
async function waitForExit(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exit = once(child, 'exit') as Promise<[number | null]>;
  let deadline: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    deadline = setTimeout(async () => {
      const diagnosis = await diagnose(child);
      child.kill('SIGKILL');
      reject(
        new Error(
          `timeout: the server did not exit within ${PROCESS_EVENT_BOUND_MS / 1000} s; what it was doing:\n${diagnosis}`,
        ),
      );
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
