// The store factory: DATABASE_URL's scheme picks the store, and a value it cannot use is refused unechoed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from './index.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'api-tokens-factory-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('openStore', () => {
  it('opens sqlite:<path>', async () => {
    const store = openStore(`sqlite:${join(dir, 'x.db')}`);
    expect(await store.count()).toBe(0);
    await store.close();
  });

  it.each(['postgres://user:hunter2@db/tokens', './tokens.db', 'sqlite:'])(
    'refuses %s without echoing it',
    (url) => {
      expect(() => openStore(url)).toThrow(/^DATABASE_URL: unsupported value; expected sqlite:<path>/);
      try {
        openStore(url);
      } catch (err) {
        expect((err as Error).message).not.toContain('hunter2');
      }
    },
  );
});
