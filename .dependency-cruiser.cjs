// Architecture rules of STYLE.md (layout and convention 12), checked by `npm run check`:
// the domain and the projections stay pure, the apps never import each other, libs never
// import apps, contracts stay framework-free, and there are no import cycles.
const infrastructure =
  '(^|/)node_modules/(@types/)?(@nestjs|typeorm|amqplib|amqp-connection-manager|mongodb|pg)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment: 'domain/ is pure TypeScript: decide and evolve, no Nest or infrastructure.',
      severity: 'error',
      from: { path: ['^apps/[^/]+/src/domain/', '^apps/[^/]+/src/.*/domain/'] },
      // Reachable, not only imported: a barrel that pulls in Nest counts too.
      to: { path: infrastructure, reachable: true },
    },
    {
      name: 'projections-are-pure',
      comment: 'Projections are pure functions of (document, event); the consumer does the I/O.',
      severity: 'error',
      from: { path: '^apps/query-service/src/projections/' },
      to: { path: infrastructure, reachable: true },
    },
    {
      name: 'contracts-without-nest',
      comment: 'libs/contracts is shared wire format; it must not depend on Nest.',
      severity: 'error',
      from: { path: '^libs/contracts/' },
      to: { path: '(^|/)node_modules/@nestjs/', reachable: true },
    },
    {
      name: 'apps-are-independent',
      comment: 'The services share only libs/; one app never imports another.',
      severity: 'error',
      from: { path: '^apps/([^/]+)/' },
      to: { path: '^apps/', pathNot: '^apps/$1/' },
    },
    {
      name: 'libs-do-not-import-apps',
      severity: 'error',
      from: { path: '^libs/' },
      to: { path: '^apps/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that does not resolve is a typo or a missing dependency.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|coverage)/' },
    // Resolves the @orders/contracts and @orders/platform path aliases.
    tsConfig: { fileName: 'tsconfig.json' },
    // Type-only imports count: a domain type importing amqplib is still a dependency on it.
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'types', 'default'],
      extensions: ['.ts', '.d.ts', '.js', '.cjs', '.mjs', '.json'],
    },
  },
};
