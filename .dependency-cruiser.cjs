// Import rules of the product code (src/, routes/, schemas/), checked by test/architecture.test.ts
// (part of `npm test`), and on their own by `npm run lint:deps`. Type-only imports count: a cycle of types is a cycle.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      comment: 'No import cycle among src/, routes/ and schemas/ (type-only imports included).',
      severity: 'error',
      from: { path: '^(src|routes|schemas)/' },
      to: { circular: true },
    },
    {
      name: 'nats-only-in-bus',
      comment:
        'Only src/bus/ speaks NATS: no other product file imports @nats-io/*. Dev tooling (the dev/ room) is exempt.',
      severity: 'error',
      from: { path: '^(src|routes|schemas)/', pathNot: ['^src/bus/', '(^|/)dev/'] },
      to: { path: '(^|/)@nats-io/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // swc parses the TypeScript (dependency-cruiser does not support typescript@7's compiler yet) and
    // keeps type-only imports (`import type`, `import { type X }`) in the graph.
    parser: 'swc',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    combinedDependencies: false,
  },
};
