// Sets the package's version to the spec's info.version, so the published client says which contract it speaks,
// and moves every workspace package that depends on the client with a caret range (the published guard) to that
// version too: a spec bump then resolves to the workspace's client instead of sending npm to the registry.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const specPath = join(root, 'openapi/openapi.yaml');
const packagePath = fileURLToPath(new URL('../package.json', import.meta.url));

const { version } = parse(readFileSync(specPath, 'utf8')).info;
if (!/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/.test(version)) {
  throw new Error(
    `sync-version: the spec's info.version '${version}' is not a semantic version; fix it in the spec`,
  );
}

// Replace the one line rather than re-serialise, so a file keeps its formatting and only a real change shows in git.
function rewrite(path, pattern, replacement) {
  const text = readFileSync(path, 'utf8');
  const updated = text.replace(pattern, replacement);
  if (updated !== text) writeFileSync(path, updated);
}

rewrite(packagePath, /^(\s*"version":\s*)"[^"]*"/m, `$1"${version}"`);

// A range of "*" (the private apps) already takes any version; a caret range is what a published package carries.
for (const workspace of ['packages', 'apps']) {
  for (const entry of readdirSync(join(root, workspace), { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const dependent = join(root, workspace, entry.name, 'package.json');
    let text;
    try {
      text = readFileSync(dependent, 'utf8');
    } catch {
      continue; // a folder that is no package
    }
    if (text.includes('"@api-tokens/client": "^')) {
      rewrite(dependent, /("@api-tokens\/client":\s*)"\^[^"]*"/g, `$1"^${version}"`);
    }
  }
}
