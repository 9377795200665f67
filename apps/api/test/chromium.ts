// Debian's headless Chromium for the browser tests, driven by playwright-core (no browser download).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';

/**
 * Headless, and quiet on a machine with no network but loopback: without the background-networking
 * flags Chromium keeps opening connections this machine refuses.
 */
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface LaunchedChromium {
  browser: Browser;
  /** Closes the browser and removes its temporary directory. */
  close(): Promise<void>;
}

/**
 * Launches Chromium with `args` besides the usual flags; undefined where it is not installed, so that
 * each case then fails with requireChromium's line instead of the whole file failing in its setup.
 */
export async function launchChromium(args: readonly string[] = []): Promise<LaunchedChromium | undefined> {
  if (!existsSync(CHROMIUM)) return undefined;
  // Chromium puts a Unix socket in its TMPDIR, whose path may be at most 107 bytes: the TMPDIR of a
  // test run in a nested worktree (.ci/run, scripts/test-node.sh) is too long, so it gets a short one.
  const tmp = mkdtempSync('/tmp/atc-');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [...CHROMIUM_FLAGS, ...args],
    env: { ...process.env, TMPDIR: tmp },
  });
  return {
    browser,
    async close() {
      await browser.close();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** The browser, or the one line that says how to install it. */
export function requireChromium(launched: LaunchedChromium | undefined): Browser {
  if (launched === undefined) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)`);
  }
  return launched.browser;
}
