// `governor explain PATH...` through the real bin: classes, rules, agents, approvers and policy lines per path.
import { describe, expect, it } from "vitest";
import { runBin } from "../helpers/cli.js";
import { fixturePolicy } from "../helpers/policy.js";
import { gitRepo } from "./check-repo.js";

const WEBAPP = fixturePolicy("webapp-monorepo.yml");
const ENV = { GITHUB_TOKEN: "", GITHUB_REPOSITORY: "" };
const NOW = ["--now", "2026-11-24T12:00:00Z"];

describe("governor explain", () => {
  const repo = gitRepo({
    ".governance.yml": `${WEBAPP}`.replace(
      "rules:\n",
      'rules:\n  - id: codex-no-auth\n    match: { classes: [auth], agents: [codex] }\n    action: deny\n    reason: "Codex may not touch auth."\n',
    ),
  });

  it("prints each path's classes, rules with their policy lines, and the verdict per agent", () => {
    const r = runBin(["explain", "apps/api/src/auth/token.ts", "--base", "main", ...NOW], { cwd: repo.dir, env: ENV });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        "apps/api/src/auth/token.ts",
        "  classes: api (repo), auth (repo)",
        "  - repo:codex-no-auth: deny, for codex (.governance.yml:21)",
        "      via class auth",
        "      why: Codex may not touch auth.",
        "      escalate: Ask the policy owners: @acme/platform",
        "  - repo:auth-needs-security: require_approval by 2 of @acme/security, for every agent (.governance.yml:35)",
        "      via class auth",
        "      escalate: Ask the policy owners: @acme/platform",
        "  - repo:api-needs-maintainer: require_approval by 1 of @acme/maintainers, for every agent (.governance.yml:43)",
        "      via class api",
        "      escalate: Ask the policy owners: @acme/platform",
        "  => require_approval for acme-bot, copilot, claude, devin, cursor, jules, openhands (repo:auth-needs-security, repo:api-needs-maintainer)",
        "  => deny for codex (repo:codex-no-auth)",
        "",
      ].join("\n"),
    );
  });

  it("says a rule outside its active window decides nothing", () => {
    const r = runBin(["explain", "apps/api/src/billing/a.ts", "--base", "main", "--agent", "copilot", "--now", "2027-01-05T00:00:00Z"], {
      cwd: repo.dir,
      env: ENV,
    });
    expect(r.stdout).toContain("repo:billing-freeze: deny, for every agent, active until 2026-12-31 (not active now) (.governance.yml:");
    expect(r.stdout).toContain("=> require_approval for copilot (repo:api-needs-maintainer)");
  });

  it("marks the policy file as needing the owners whatever the rules say", () => {
    const r = runBin(["explain", ".governance.yml", "--base", "main", "--agent", "copilot", "--json", ...NOW], { cwd: repo.dir, env: ENV });
    const out = JSON.parse(r.stdout) as { paths: Array<{ policy_file: boolean; verdicts: unknown[] }> };
    expect(out.paths[0]?.policy_file).toBe(true);
    expect(out.paths[0]?.verdicts).toEqual([{ agents: ["copilot"], action: "require_approval", rules: ["repo.default", "builtin:policy-change"] }]);
  });

  it("refuses an unknown --agent with the closest name", () => {
    const r = runBin(["explain", "docs/a.md", "--base", "main", "--agent", "devn"], { cwd: repo.dir, env: ENV });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('did you mean "devin"?');
  });

  it("exits 2 with the policy's errors when it is invalid", () => {
    const bad = gitRepo({ ".governance.yml": "version: 1\nrules: 5\n" });
    const r = runBin(["explain", "docs/a.md", "--base", "main"], { cwd: bad.dir, env: ENV });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(".governance.yml:2:8: error: rules: expected array");
  });
});
