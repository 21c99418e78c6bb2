import type { Config } from 'jest';

// Nest 12 ships ESM only; @swc/jest compiles both our TypeScript and those packages to CommonJS.
const transform: Config['transform'] = {
  '^.+\\.(t|j)s$': [
    '@swc/jest',
    {
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        target: 'es2022',
      },
      module: { type: 'commonjs' },
    },
  ],
};

const shared: Config = {
  transform,
  // …and content-disposition, which @fastify/static (the docs UI's files) requires: ESM only.
  transformIgnorePatterns: [
    '^(?!.*/node_modules/content-disposition/).*/node_modules/(?!@nestjs/)',
  ],
  moduleNameMapper: {
    '^@orders/contracts$': '<rootDir>/libs/contracts/src/index.ts',
    '^@orders/platform$': '<rootDir>/libs/platform/src/index.ts',
    '^@orders/platform/tracing$': '<rootDir>/libs/platform/src/tracing/index.ts',
  },
  testEnvironment: 'node',
};

const config: Config = {
  // Integration tests start real services; a project-level testTimeout is ignored by Jest.
  testTimeout: 120_000,
  projects: [
    {
      ...shared,
      displayName: 'unit',
      // test/deploy/: the compose file and the Kubernetes manifests, checked without an engine.
      testMatch: ['<rootDir>/{apps,libs}/**/*.spec.ts', '<rootDir>/test/deploy/*.spec.ts'],
    },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/**/*.int-spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
    },
    { ...shared, displayName: 'faults', testMatch: ['<rootDir>/test/faults/*.fault-spec.ts'] },
    // The rebuild while serving runs in a Jest run of its own (npm test starts one after the
    // rest; npm run test:rebuild runs only it): inside the full run on this 2-core machine it
    // once took over 6 minutes and timed out (FerretDB under the whole suite's load), while
    // alone it passes in under a minute.
    ...(process.env.ORDERS_REBUILD_TEST
      ? [
          {
            ...shared,
            displayName: 'rebuild',
            testMatch: ['<rootDir>/test/rebuild/*.rebuild-spec.ts'],
          },
        ]
      : []),
    // The soak runs only when asked for (npm run soak), never as part of npm test.
    ...(process.env.SOAK_MINUTES
      ? [{ ...shared, displayName: 'soak', testMatch: ['<rootDir>/test/soak/*.soak-spec.ts'] }]
      : []),
  ],
};

export default config;
