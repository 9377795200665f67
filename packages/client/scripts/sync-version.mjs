// Sets the package's version to the spec's info.version, so the published client says which contract it speaks.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const specPath = fileURLToPath(new URL('../../../openapi/openapi.yaml', import.meta.url));
const packagePath = fileURLToPath(new URL('../package.json', import.meta.url));

const { version } = parse(readFileSync(specPath, 'utf8')).info;
if (!/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/.test(version)) {
  throw new Error(
    `sync-version: the spec's info.version '${version}' is not a semantic version; fix it in the spec`,
  );
}
const text = readFileSync(packagePath, 'utf8');
// Replace the one line rather than re-serialise, so the file keeps its formatting and only a real change shows in git.
const updated = text.replace(/^(\s*"version":\s*)"[^"]*"/m, `$1"${version}"`);
if (updated !== text) writeFileSync(packagePath, updated);
