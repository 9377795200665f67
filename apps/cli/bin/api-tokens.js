#!/usr/bin/env node
// Committed, unlike dist/: npm links a workspace's bin at install only if the file exists then, and
// `npm ci` runs before `npm run build`. This one is there from the clone on and runs the built CLI.
try {
  await import('../dist/index.js');
} catch (err) {
  const missing = err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('/dist/index.js');
  if (!missing) throw err;
  process.stderr.write('api-tokens: the CLI is not built yet: run `npm run build` first\n');
  process.exitCode = 1;
}
