#!/usr/bin/env node
// The api-tokens executable: runs the command line against this process's streams and environment.
import { run } from './program.js';

// A reader that stops early (`api-tokens tokens list | head`) is no failure of ours: end quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

process.exitCode = await run(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stdin: process.stdin,
  stdoutIsTTY: process.stdout.isTTY === true,
  env: process.env,
  now: () => new Date(),
});
