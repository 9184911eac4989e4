import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Crash and end-to-end tests start real processes and servers; give them room on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // One PostgreSQL server for the run (the store contract suite); tests that need it fail when it cannot start.
    globalSetup: ["test/helpers/postgres.ts"],
  },
});
