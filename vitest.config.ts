import { defineConfig } from "vitest/config";

// Two projects: `unit` (in-process, fast) and `system` (real processes, servers, the packed package). `npm test` runs
// both; `npm run test:unit` is the quick loop. The bin runs the compiled dist/, so it is built first when stale.
const SYSTEM = [
  "test/e2e/**/*.test.ts",
  "test/server/front.test.ts",
  "test/server/start.test.ts",
  "test/package/**/*.test.ts",
  "test/audit/commands.test.ts",
  "test/store/**/*.test.ts",
  "test/dashboard/**/*.test.ts",
  "test/mcp/**/*.test.ts",
  "test/action/**/*.test.ts",
];

export default defineConfig({
  test: {
    // The compiled bin is rebuilt when stale; one PostgreSQL server serves the run (tests that need it fail when it cannot start).
    globalSetup: ["test/helpers/run-tmp.ts", "test/helpers/build.ts", "test/helpers/postgres.ts"],
    pool: "forks",
    // Test files share a worker's module cache (isolate: false): re-importing the app's module graph for each of 74 files
    // cost about a fifth of the suite's CPU. No test mocks modules or leaves globals changed.
    // Two workers on the 2-core machine (the default leaves one core idle): the system tests mostly wait on processes.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: { name: "unit", isolate: false, include: ["test/**/*.test.ts"], exclude: SYSTEM, testTimeout: 20_000, hookTimeout: 20_000 },
      },
      {
        extends: true,
        // Crash and end-to-end tests start real processes and servers; give them room on a 2-core machine.
        test: { name: "system", isolate: false, include: SYSTEM, testTimeout: 60_000, hookTimeout: 60_000 },
      },
    ],
  },
});
