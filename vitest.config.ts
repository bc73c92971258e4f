import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start their own Azurite, emulator and host on free ports, so files can run in parallel.
    pool: 'forks',
  },
});
