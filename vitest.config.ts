import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // One module graph per worker instead of one per file: the SDK, Hono and SQLite load once,
    // not 54 times (import 26 s to 3 s). Tests share no globals: each builds its own app, store, log.
    isolate: false,
    // Two files at a time on two cores: most tests wait on child processes, sockets and SQLite, so a
    // second worker fills the waits (77 s to 59 s here, 604 tests green in every run measured).
    maxWorkers: 2,
  },
});
