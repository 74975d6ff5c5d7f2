import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// SWC (not esbuild) so that decorator metadata reaches type-graphql and TypeORM.
// Suites that need external services join only when those services are configured; .ci/run
// runs the tests twice, the second time with MARIADB_URL and REDIS_URL set.
const serviceSuites = [
  ...(process.env.REDIS_URL ? ['test/services/redis*.test.ts'] : []),
  ...(process.env.MARIADB_URL ? ['test/services/mariadb*.test.ts'] : []),
  // Debian's prometheus and prometheus-alertmanager, installed and asked for by .ci/run.
  ...(process.env.TEST_PROMETHEUS ? ['test/services/prometheus*.test.ts'] : []),
  // Debian's xrootd-server and xrootd-scitokens-plugins: a real tape door with WLCG tokens.
  ...(process.env.TEST_XROOTD ? ['test/services/xrootd*.test.ts'] : []),
  // Debian's Ceph (radosgw, ceph-mon, ceph-osd): S3 with multipart, one cluster per run.
  ...(process.env.TEST_OBJECT_STORE === 'rgw' ? ['test/services/rgw*.test.ts'] : []),
  // Debian's Slurm 22.05 (slurmctld, slurmd, slurmrestd, munge): one single-node cluster.
  ...(process.env.TEST_SLURM ? ['test/services/slurm*.test.ts'] : []),
];
// The client suites need Debian's chromium, python3-requests and python3-websockets: they run
// with `npm run test:clients` (which sets CLIENT_SUITES), and .ci/run installs what they need.
const clientSuites = process.env.CLIENT_SUITES ? ['test/clients/**/*.test.ts'] : [];

export default defineConfig({
  plugins: [
    swc.vite({
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: {
          legacyDecorator: true,
          decoratorMetadata: true,
          useDefineForClassFields: false,
        },
        target: 'es2022',
      },
    }),
  ],
  resolve: { alias: { graphql: 'graphql/index.js' } },
  test: {
    include: [
      'test/unit/**/*.test.ts',
      'test/integration/**/*.test.ts',
      ...serviceSuites,
      ...clientSuites,
    ],
    // Builds dist/ first: worker threads and CLI tests run the compiled copy.
    // With TEST_OBJECT_STORE=rgw, one Ceph RGW for the whole run.
    globalSetup: ['test/support/buildFirst.ts', 'test/support/rgwCluster.ts'],
    setupFiles: ['test/support/logLevel.ts'],
    env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
