// `governor check --files-from` reads git's own output for paths git quotes (non-ASCII, tabs, quotes, backslashes,
// newlines) in every form: --numstat, --name-status, --name-only, and their -z forms. The app sees these paths
// unquoted from GitHub, so a path it would deny must be denied here too.
import { describe, expect, it } from "vitest";
import { DecisionSchema } from "../../src/policy/decision.js";
import { runBin } from "../helpers/cli.js";
import { fixturePolicy } from "../helpers/policy.js";
import { gitRepo } from "./check-repo.js";

const NOW = ["--now", "2026-11-24T12:00:00Z"];
const ENV = { GITHUB_TOKEN: "", GITHUB_REPOSITORY: "" };
const B = "apps/api/src/billing";
const ODD = [`${B}/é.ts`, `${B}/tab\there.ts`, `${B}/"quoted".ts`, `${B}/back\\slash.ts`, `${B}/line\nbreak.ts`];
const MOVED_FROM = `${B}/old ü.ts`;
const MOVED_TO = "docs/new ü.ts";

function oddRepo() {
  const repo = gitRepo({ ".governance.yml": fixturePolicy("webapp-monorepo.yml"), [MOVED_FROM]: "line\n".repeat(40) });
  repo.git("checkout", "-qb", "copilot/odd");
  repo.commit("odd paths", { ...Object.fromEntries(ODD.map((p) => [p, "x\n"])), [MOVED_FROM]: null, [MOVED_TO]: "line\n".repeat(40) });
  return repo;
}

function checkList(cwd: string, input: string, extra: string[] = []) {
  const r = runBin(["check", "--files-from", "-", ...extra, "--author", "Copilot", "--format", "json", ...NOW], { cwd, input, env: ENV });
  if (r.code !== 4 && r.code !== 3 && r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  return { code: r.code, decision: DecisionSchema.parse((JSON.parse(r.stdout) as { decision: unknown }).decision) };
}

describe("governor check --files-from: git's quoted and -z output", () => {
  const repo = oddRepo();
  const diff = (...args: string[]) => repo.git("diff", ...args, "-M", "main...HEAD");

  it("git really quotes these paths in plain output", () => {
    expect(diff("--name-only")).toContain('"apps/api/src/billing/\\303\\251.ts"');
    expect(diff("--name-only")).toContain('"apps/api/src/billing/tab\\there.ts"');
  });

  it.each(["--numstat", "--name-status", "--numstat -z", "--name-status -z"])(
    "denies every quoted billing path, and the old path of a rename, from git diff %s",
    (format) => {
      const { code, decision } = checkList(repo.dir, diff(...format.split(" ")));
      expect(code).toBe(4);
      expect(decision.rules.find((r) => r.id === "repo:billing-freeze")?.files).toEqual([...ODD, MOVED_FROM].sort());
      expect(decision.files_considered).toBe(ODD.length + 1);
    },
  );

  it.each(["--name-only", "--name-only -z"])("denies every quoted billing path from git diff %s", (format) => {
    const { code, decision } = checkList(repo.dir, diff(...format.split(" ")));
    expect(code).toBe(4);
    // --name-only names a rename by its new path only: the old path is not in that output at all.
    expect(decision.rules.find((r) => r.id === "repo:billing-freeze")?.files).toEqual([...ODD].sort());
  });

  it("counts the lines of numstat output against the budget", () => {
    const { decision } = checkList(repo.dir, diff("--numstat", "-z"));
    expect(decision.limits.find((l) => l.id === "limits.max_lines")?.actual).toBe(ODD.length);
  });

  it("gives the same answer as --base alone from -z name-status and numstat output together", () => {
    const r = runBin(["check", "--base", "main", "--author", "Copilot", "--format", "json", ...NOW], { cwd: repo.dir, env: ENV });
    const viaGit = DecisionSchema.parse((JSON.parse(r.stdout) as { decision: unknown }).decision);
    const viaList = checkList(repo.dir, diff("--name-status", "-z") + diff("--numstat", "-z"), ["--base", "main"]).decision;
    expect(viaGit.rules).toEqual(viaList.rules);
    expect(viaGit.limits).toEqual(viaList.limits);
  });

  it("keeps the source of a copy as its previous path (-z name-status with copies)", () => {
    const copy = gitRepo({ ".governance.yml": fixturePolicy("webapp-monorepo.yml"), [`${B}/rates.ts`]: "rate\n".repeat(40) });
    copy.git("checkout", "-qb", "copilot/copy");
    copy.commit("copy", { "docs/rates.ts": "rate\n".repeat(40) });
    const out = copy.git("diff", "-z", "--name-status", "-C", "--find-copies-harder", "main...HEAD");
    expect(out).toMatch(/^C100\0/);
    const { decision } = checkList(copy.dir, out);
    expect(decision.rules.find((r) => r.id === "repo:billing-freeze")?.files).toEqual([`${B}/rates.ts`]);
  });

  it("refuses a quoted path that is not closed, with exit 2", () => {
    const r = runBin(["check", "--files-from", "-", "--author", "Copilot", ...NOW], { cwd: repo.dir, input: 'M\t"apps/api/x.ts\n', env: ENV });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("-: line 1: a quoted path is not closed");
  });
});
