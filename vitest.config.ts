import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{core,scope,crdt,p2p,glue,node,simulator,test}/**/*.test.ts'],
    setupFiles: ['core/polyfills.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Integration tests start real processes and bind ports: keep files apart, two at a time.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
