#!/usr/bin/env node
// The api-tokens executable: runs the command line against this process's streams and environment.
import { run } from './program.js';

process.exitCode = await run(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stdin: process.stdin,
  stdoutIsTTY: process.stdout.isTTY === true,
  env: process.env,
  now: () => new Date(),
});
