// Each command loads only what it needs: the offline policy commands never load Probot, Octokit or SQLite, so they
// start fast in CI jobs and editors. Observed through the real bin with a resolve hook that records every module.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { BIN, tempDir } from "../helpers/cli.js";
import { fixturePolicy } from "../helpers/policy.js";

const HOOK = fileURLToPath(new URL("./fixtures/record-modules.mjs", import.meta.url));
const HEAVY = /node_modules\/(probot|@octokit|better-sqlite3|ajv)\//;

function modulesLoadedBy(args: string[], cwd: string): string[] {
  const log = join(cwd, "modules.log");
  const r = spawnSync(process.execPath, ["--import", HOOK, BIN, ...args], { cwd, encoding: "utf8", env: { ...process.env, GOVERNOR_MODULE_LOG: log } });
  expect(r.status, r.stderr).toBeLessThan(5);
  return readFileSync(log, "utf8").trim().split("\n");
}

describe("what each command loads", () => {
  const policy = { ".governance.yml": fixturePolicy("webapp-monorepo.yml"), "files.txt": "docs/a.md\napps/web/src/x.ts\nREADME.md\n" };

  it.each([
    ["validate", ["validate"]],
    ["check", ["check", "--files-from", "files.txt", "--branch", "copilot/x", "--author", "Copilot", "--author-type", "Bot"]],
    ["schema", ["schema"]],
    ["--version", ["--version"]],
  ])("%s loads neither Probot, Octokit, SQLite nor the simulator's validator", (_name, args) => {
    const loaded = modulesLoadedBy(args, tempDir(policy));
    expect(loaded.some((u) => u.includes("/dist/cli/main.js"))).toBe(true); // the hook saw the command run
    expect(loaded.filter((u) => HEAVY.test(u))).toEqual([]);
  });

  // zod, js-yaml and minimatch as files are ~240 modules: resolving and linking them cost more than the check itself.
  it.each([
    ["validate", ["validate"]],
    ["check", ["check", "--files-from", "files.txt", "--branch", "copilot/x", "--author", "Copilot", "--author-type", "Bot"]],
  ])("%s loads the policy code as one bundled file, not zod, js-yaml or minimatch module by module", (_name, args) => {
    const loaded = modulesLoadedBy(args, tempDir(policy));
    expect(loaded.some((u) => u.endsWith("/dist/cli/policy-commands.bundle.js"))).toBe(true);
    expect(loaded.filter((u) => /node_modules\/(zod|js-yaml|minimatch)\//.test(u) || /\/dist\/policy\//.test(u))).toEqual([]);
  });

  it("the audit commands do load SQLite (so the recorder sees what a command loads)", () => {
    const loaded = modulesLoadedBy(["audit", "list", "--db", "missing.db"], tempDir());
    expect(loaded.some((u) => /node_modules\/better-sqlite3\//.test(u))).toBe(true);
  });
});
