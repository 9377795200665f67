// The import rules of apps/api (issue #12, STYLE.md §4): no circles, and arrows one way,
// HTTP → operations → domain (tokens/) → store, with the shared vocabulary (model.ts) below both.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import circle: each module must be readable without the one that imports it.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'domain-and-store-below-http',
      comment:
        'The token rules and the stores know nothing of HTTP, operations, the spec loader, the process or the generated client.',
      severity: 'error',
      from: {
        path: '^apps/api/src/(tokens|store)/|^apps/api/src/(model|fieldPath)\\.ts$',
        pathNot: '\\.test\\.ts$',
      },
      to: {
        path: [
          '^apps/api/src/(http|operations)/',
          '^apps/api/src/(app|index|spec|config|logger)\\.ts$',
          '^packages/client/',
          '^node_modules/(express|express-openapi-validator|helmet|@api-tokens)/',
        ],
        // The secret format is hand-written and dependency-free, not the generated client: its one
        // home, shared with the CLI, the guard and consumers (issue 22 §5).
        pathNot: 'client/(src|dist)/secretFormat\\.(ts|js|d\\.ts)$',
      },
    },
    {
      name: 'store-below-domain',
      comment:
        'A store persists records and makes the rules atomic; the token rules use it, never the other way round. (The contract suite, test code, drives stores with the rules.)',
      severity: 'error',
      from: { path: '^apps/api/src/store/', pathNot: '\\.test\\.ts$|^apps/api/src/store/contract\\.ts$' },
      to: { path: '^apps/api/src/tokens/' },
    },
    {
      name: 'http-reaches-the-store-through-the-domain',
      comment:
        'HTTP, the operations and the app see the store only through what the domain (tokens/) and the app dependencies give them: no skipping a layer. Only the process (index.ts) and the admin tools open a store.',
      severity: 'error',
      from: {
        path: '^apps/api/src/(http|operations)/|^apps/api/src/app\\.ts$',
        pathNot: '\\.test\\.ts$',
      },
      to: { path: '^apps/api/src/store/' },
    },
    {
      name: 'logger-below-http',
      comment: 'The logger is used by every layer, so it needs none of them: no operations, HTTP or store.',
      severity: 'error',
      from: { path: '^apps/api/src/logger\\.ts$' },
      to: { path: '^apps/api/src/(operations|http|store|tokens)/' },
    },
    {
      name: 'database-drivers-in-the-store',
      comment: 'Only the stores talk to a database driver; the rest of the service sees TokenStore.',
      severity: 'error',
      from: { path: '^apps/api/src/', pathNot: '^apps/api/src/store/|\\.test\\.ts$' },
      to: { path: '^node_modules/(pg|better-sqlite3)/' },
    },
    {
      name: 'concrete-stores-behind-the-factory',
      comment: 'Only the store factory (store/index.ts) and the stores themselves name a concrete store.',
      severity: 'error',
      from: { path: '^apps/api/src/', pathNot: '^apps/api/src/store/|\\.test\\.ts$' },
      to: { path: '^apps/api/src/store/(sqlite|claim|checkpointer|migrations|postgres)' },
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules', '^packages/'] },
    // Built and generated files are not written here: generated code is hey-api's to arrange.
    exclude: { path: ['^apps/[^/]+/dist/', '^apps/[^/]+/src/generated/'] },
    tsPreCompilationDeps: true,
  },
};
