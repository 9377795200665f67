// The first load of /console/ stays within 250 kB of JavaScript and CSS, gzipped: measured on the built files.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

const BUDGET_BYTES = 250_000;
const dist = fileURLToPath(new URL('../dist/', import.meta.url));

describe('the built console', () => {
  it('loads at most 250 kB of JavaScript and CSS, gzipped, on first load', () => {
    const html = readFileSync(`${dist}index.html`, 'utf8');
    // What index.html makes the browser fetch: its module script, preloads and stylesheets.
    const files = [
      ...html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="\/console\/([^"]+\.(?:js|css))"/g),
    ].map((match) => match[1] ?? '');
    expect(files.some((file) => file.endsWith('.js'))).toBe(true);
    expect(files.some((file) => file.endsWith('.css'))).toBe(true);
    const gzipped = files.reduce(
      (sum, file) => sum + gzipSync(readFileSync(dist + file), { level: 9 }).length,
      0,
    );
    expect(gzipped).toBeLessThanOrEqual(BUDGET_BYTES);
  });
});
