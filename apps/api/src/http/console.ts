// The web console (apps/console): its built files at /console/, with a policy of their own; fully offline.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import express, { type RequestHandler, Router } from 'express';
import helmet from 'helmet';

/** The built console: where its files are, and its page, read once at start-up. */
export interface ConsoleFiles {
  root: string;
  index: Buffer;
}

/**
 * Finds the console's built files through the package (a dependency of this one), so they are found
 * from a fresh clone after `npm run build` as from an installed package. Undefined when it was not built.
 */
export function loadConsole(): ConsoleFiles | undefined {
  let root: string;
  try {
    root = join(dirname(createRequire(import.meta.url).resolve('@api-tokens/console/package.json')), 'dist');
  } catch {
    return undefined;
  }
  const page = join(root, 'index.html');
  if (!existsSync(page)) return undefined;
  return { root, index: readFileSync(page) };
}

/**
 * The routes these serve, as templates (for metrics' route label): the redirect, the page, a file at
 * the top of the build, a hashed asset, and the page again for a deep link (Express's own wildcard).
 */
export const CONSOLE_ROUTES = [
  '/console',
  '/console/',
  '/console/{file}',
  '/console/assets/{asset}',
  '/console/*rest',
] as const;

/**
 * The console's Content-Security-Policy: only its own files (no inline script or style), requests to
 * its own origin only (the API), and never inside a frame, so no other site can overlay its buttons.
 * No upgrade-insecure-requests, for the reason docs.ts gives.
 */
const consolePolicy = helmet.contentSecurityPolicy({
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'"],
    connectSrc: ["'self'"],
    fontSrc: ["'self'"],
    objectSrc: ["'none'"],
    baseUri: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
});

/** Vite names every file under assets/ by a hash of its content: a new build is a new name. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * Mounts GET /console/: the page, its hashed assets, and the page again for every other path under
 * /console/ (a deep link such as /console/tokens/<id>), since the console routes in the browser.
 * A missing asset answers the app's JSON 404, not the page.
 */
export function serveConsole(files: ConsoleFiles): Router {
  const router = Router();
  const page: RequestHandler = (_req, res) => {
    // Revalidated on every load, so a new build's asset names are picked up at once.
    res.set('Cache-Control', 'no-cache').type('html').send(files.index);
  };
  router.get('/console', (req, res, next) => {
    if (req.path.endsWith('/')) next();
    else res.redirect(301, 'console/');
  });
  router.use('/console', consolePolicy);
  // Files behind routes rather than mounts, so that metrics see which route matched; each static
  // handler in a router of its own, whose mount path it strips.
  const assets = Router();
  assets.use(
    '/console/assets',
    express.static(join(files.root, 'assets'), {
      index: false,
      redirect: false,
      fallthrough: true,
      setHeaders: (res) => res.set('Cache-Control', IMMUTABLE),
    }),
  );
  // A missing asset leaves this router for the app's JSON 404, not the page.
  router.get('/console/assets/:asset', assets, (_req, _res, next) => next('router'));
  const topFiles = Router();
  topFiles.use(
    '/console',
    express.static(files.root, {
      index: false,
      redirect: false,
      setHeaders: (res) => res.set('Cache-Control', 'no-cache'),
    }),
  );
  // Not a file: a deep link such as /console/tokens, answered with the page below.
  router.get('/console/:file', topFiles);
  router.get('/console/', page);
  router.get('/console/*rest', page);
  return router;
}
