// After every test file: no log line any harness wrote (at debug level) holds a secret.
import { afterAll, expect } from 'vitest';
import { harnesses } from './harness.js';

const SECRET = /xaat-[0-9A-Za-z]{49}|xaat-[A-Za-z0-9_-]{43}/;

afterAll(() => {
  for (const harness of harnesses.splice(0)) {
    expect(harness.logLines.length).toBeGreaterThan(0);
    for (const line of harness.logLines) {
      expect(line).not.toMatch(SECRET);
      expect(line).not.toContain(harness.adminSecret);
    }
  }
});
