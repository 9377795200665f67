// The API reference: Swagger UI over the spec at /docs, the spec itself at /openapi.json and /openapi.yaml; fully offline.
import { readFileSync } from 'node:fs';
import { type RequestHandler, Router } from 'express';
import helmet from 'helmet';
import swaggerUi from 'swagger-ui-express';
import { parse } from 'yaml';
import { specPath } from '../spec.js';

/** The spec as served: the file's bytes, and its parse as JSON text, both read once at start-up. */
export interface ApiReference {
  yaml: Buffer;
  json: string;
  title: string;
}

/** Reads the spec file for the reference routes; the YAML is served byte for byte, so it is kept as read. */
export function loadApiReference(path: string = specPath): ApiReference {
  const yaml = readFileSync(path);
  const spec = parse(yaml.toString('utf8')) as { info?: { title?: string } };
  return { yaml, json: JSON.stringify(spec), title: `${spec.info?.title ?? 'API'}: API reference` };
}

/** The routes these serve, as templates (for metrics' route label). */
export const API_REFERENCE_ROUTES = ['/docs', '/docs/{asset}', '/openapi.json', '/openapi.yaml'] as const;

/**
 * The files of swagger-ui-dist the page loads, and the init script swagger-ui-express writes. The
 * package's other files are not served: its demo index.html loads a spec from petstore.swagger.io.
 */
const PAGE_FILES = new Set([
  '/swagger-ui.css',
  '/swagger-ui-bundle.js',
  '/swagger-ui-standalone-preset.js',
  '/swagger-ui-init.js',
  '/favicon-32x32.png',
  '/favicon-16x16.png',
]);

const onlyPageFiles: RequestHandler = (req, _res, next) => {
  // Anything else falls through to the app's JSON 404.
  if ((req.method === 'GET' || req.method === 'HEAD') && PAGE_FILES.has(req.path)) next();
  else next('router');
};

/**
 * The page's Content-Security-Policy: helmet's default, which the API keeps, without
 * upgrade-insecure-requests. That directive makes a browser fetch every resource of an http: page
 * over https:, so a server reached over plain HTTP by any name but loopback (HOST=0.0.0.0 on a
 * LAN) would answer a blank page and no "Try it out". The page loads nothing but its own origin
 * (default-src 'self'), so there is no mixed content for the directive to upgrade anyway.
 */
const pagePolicy = helmet.contentSecurityPolicy({ directives: { upgradeInsecureRequests: null } });

/**
 * Mounts GET /docs (Swagger UI), /openapi.json and /openapi.yaml at the root, outside the API's base
 * path and without authentication. Every asset comes from the installed swagger-ui-dist, and the
 * page's script is a file (swagger-ui-init.js), not inline, so script-src 'self' holds for the page
 * as for the API; its inline styles are allowed by helmet's default style-src.
 */
export function serveApiReference(reference: ApiReference): Router {
  const router = Router();
  router.get('/openapi.yaml', (_req, res) => {
    res.type('application/yaml').send(reference.yaml);
  });
  router.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(reference.json);
  });

  const options = {
    customSiteTitle: reference.title,
    // Relative to /docs/, so the page also works behind a proxy that adds a path prefix.
    swaggerUrl: '../openapi.json',
    swaggerOptions: {
      // Swagger UI would otherwise send the spec's URL to validator.swagger.io for a badge.
      validatorUrl: null,
      displayRequestDuration: true,
    },
  };
  const page = swaggerUi.setup(undefined, options);
  // The page's assets are relative (./swagger-ui.css), so it must be addressed as /docs/.
  router.get('/docs', (req, res, next) => {
    if (req.path.endsWith('/')) pagePolicy(req, res, () => page(req, res, next));
    else res.redirect(301, 'docs/');
  });
  // A router of its own, so that `next('router')` leaves these handlers for the app's 404; behind a
  // route rather than a mount, so that metrics see the route /docs/:asset matched.
  const files = Router();
  files.use('/docs', onlyPageFiles, ...swaggerUi.serveFiles(undefined, options));
  router.get('/docs/:asset', files);
  return router;
}
