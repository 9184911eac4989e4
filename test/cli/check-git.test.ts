// `governor check --base` in real git repositories: the policy at the base, commit authors from git log, identity
// from the branch, validated refs, and the caveats where the local answer may differ from the app's.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DecisionSchema } from "../../src/policy/decision.js";
import { runBin } from "../helpers/cli.js";
import { fixturePolicy } from "../helpers/policy.js";
import { gitRepo } from "./check-repo.js";
import { decisionTitle } from "../../src/report/phrases.js";

const WEBAPP = fixturePolicy("webapp-monorepo.yml");
const NOW = ["--now", "2026-11-24T12:00:00Z"];
// No token, no GitHub repository from a CI environment: the checks below must not depend on the machine's.
const ENV = { GITHUB_TOKEN: "", GITHUB_REPOSITORY: "" };

interface CheckJson {
  schema: string;
  decision: unknown;
  caveats: Array<{ id: string; message: string }>;
  policies: { repo: { path: string; sha?: string } | null; org: { path: string } | null };
}

function check(cwd: string, args: string[]) {
  const r = runBin(["check", ...args, "--format", "json", ...NOW], { cwd, env: ENV });
  if (r.code !== 0 && r.code !== 3 && r.code !== 4) throw new Error(`exit ${r.code}: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as CheckJson;
  return { code: r.code, out, decision: DecisionSchema.parse(out.decision) };
}

describe("governor check --base: the policy as it is at the base", () => {
  it("judges a branch that rewrites its own policy to allow itself by the base's policy", () => {
    const repo = gitRepo({ ".governance.yml": WEBAPP, "README.md": "hi\n" });
    repo.git("checkout", "-qb", "copilot/unfreeze");
    repo.commit("unfreeze billing", {
      ".governance.yml": WEBAPP.replace('action: deny\n    reason: "Billing', 'action: allow\n    reason: "Billing'),
      "apps/api/src/billing/charge.ts": "export const charge = 1;\n",
    });
    const { code, out, decision } = check(repo.dir, ["--base", "main", "--author", "Copilot", "--author-type", "Bot"]);
    expect(code).toBe(4);
    expect(decision.rules.find((r) => r.id === "repo:billing-freeze")?.files).toEqual(["apps/api/src/billing/charge.ts"]);
    expect(decision.rules.find((r) => r.id === "builtin:policy-change")?.files).toEqual([".governance.yml"]);
    expect(out.policies.repo).toEqual({ path: ".governance.yml", sha: repo.git("rev-parse", "main").trim() });
  });

  it("reads .github/governance.yml at the base when that is where the policy lives", () => {
    const repo = gitRepo({ ".github/governance.yml": WEBAPP });
    repo.git("checkout", "-qb", "copilot/ci");
    repo.commit("ci", { ".github/workflows/deploy.yml": "on: push\n" });
    const { code, decision } = check(repo.dir, ["--base", "main", "--author", "Copilot"]);
    expect(code).toBe(4);
    expect(decision.rules.map((r) => r.id)).toEqual(["repo:no-agent-ci-changes"]);
  });

  it("pre-flights an org-only setup: no repo policy at the base, the org policy from --org-policy", () => {
    const repo = gitRepo({ "README.md": "hi\n", "org.yml": fixturePolicy("org.yml") });
    repo.git("checkout", "-qb", "copilot/env");
    repo.commit("env", { "config/.env": "SECRET=1\n" });
    const { code, out, decision } = check(repo.dir, ["--base", "main", "--org-policy", "org.yml", "--author", "Copilot"]);
    expect(code).toBe(4);
    expect(decision.rules.map((r) => r.id)).toContain("org:no-secrets");
    expect(out.policies.repo).toBeNull();
  });

  it("reports the deletion of a protected file and the rename out of one", () => {
    const repo = gitRepo({ ".governance.yml": WEBAPP, "apps/api/src/billing/a.ts": "a\n".repeat(30), "apps/api/src/billing/b.ts": "b\n" });
    repo.git("checkout", "-qb", "copilot/move");
    repo.commit("move and delete", { "apps/api/src/billing/a.ts": null, "docs/a.ts": "a\n".repeat(30), "apps/api/src/billing/b.ts": null });
    const { decision } = check(repo.dir, ["--base", "main", "--author", "Copilot"]);
    expect(decision.rules.find((r) => r.id === "repo:billing-freeze")?.files).toEqual(["apps/api/src/billing/a.ts", "apps/api/src/billing/b.ts"]);
  });
});

describe("governor check --base: who the agent is", () => {
  it("identifies Claude from a Co-authored-by trailer in git log", () => {
    const repo = gitRepo({ ".governance.yml": WEBAPP });
    repo.git("checkout", "-qb", "feature/charge");
    repo.commit("Add a charge\n\nCo-Authored-By: Claude <noreply@anthropic.com>", { "apps/api/src/billing/charge.ts": "x\n" });
    const { code, decision } = check(repo.dir, ["--base", "main", "--author", "dana"]);
    expect(code).toBe(4);
    expect(decision.agent).toEqual({ name: "claude", signals: [{ kind: "commit_author", value: "noreply@anthropic.com", matched: "claude" }] });
  });

  it("identifies an agent by its commit author e-mail", () => {
    const repo = gitRepo({ ".governance.yml": WEBAPP });
    repo.git("checkout", "-qb", "fix-typo");
    repo.commit("typo", { "docs/a.md": "x\n" }, { name: "Cursor Agent", email: "cursoragent@cursor.com" });
    const { decision } = check(repo.dir, ["--base", "main", "--author", "dana"]);
    expect(decision.agent?.name).toBe("cursor");
  });

  it("does not govern a human's branch whose commits name no agent", () => {
    const repo = gitRepo({ ".governance.yml": WEBAPP });
    repo.git("checkout", "-qb", "feature/charge");
    repo.commit("Add a charge", { "apps/api/src/billing/charge.ts": "x\n" });
    const { code, decision } = check(repo.dir, ["--base", "main", "--author", "dana"]);
    expect(code).toBe(0);
    expect(decision.outcome).toBe("not_governed");
  });

  it("takes the head branch from the checkout when --branch is not given", () => {
    const repo = gitRepo({ ".governance.yml": WEBAPP });
    repo.git("checkout", "-qb", "codex/docs");
    repo.commit("docs", { "docs/a.md": "x\n" });
    const { code, decision } = check(repo.dir, ["--base", "main"]);
    expect(code).toBe(0);
    expect(decision.agent).toEqual({ name: "codex", signals: [{ kind: "branch", value: "codex/docs", matched: "codex" }] });
  });
});

describe("governor check: refs and agent names are validated", () => {
  const repo = gitRepo({ ".governance.yml": WEBAPP, "docs/a.md": "a\n" });
  repo.git("checkout", "-qb", "copilot/x");
  repo.commit("second", { "docs/b.md": "b\n" });

  it("refuses a --base that starts with a dash, and git never sees it", () => {
    const r = runBin(["check", "--base=--output=leak.txt", ...NOW], { cwd: repo.dir, env: ENV });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--base --output=leak.txt: a revision cannot start with "-"');
    expect(existsSync(join(repo.dir, "leak.txt"))).toBe(false);
  });

  it.each(["main..HEAD", "main:docs", "ma in", "@{-1}"])("refuses %j, which is not a ref name or commit", (ref) => {
    const r = runBin(["check", "--base", ref, ...NOW], { cwd: repo.dir, env: ENV });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("not a valid ref name or commit");
  });

  it("refuses a ref that names no commit", () => {
    const r = runBin(["check", "--base", "no-such-branch", ...NOW], { cwd: repo.dir, env: ENV });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--base no-such-branch: no such commit");
  });

  it("accepts a revision with ~ steps and a commit id", () => {
    const sha = repo.git("rev-parse", "HEAD~1").trim();
    expect(check(repo.dir, ["--base", "HEAD~1"]).decision.files_considered).toBe(1);
    expect(check(repo.dir, ["--base", sha]).decision.files_considered).toBe(1);
  });

  it("refuses an unknown --agent with exit 2 and the closest name", () => {
    const r = runBin(["check", "--base", "main", "--agent", "copliot", ...NOW], { cwd: repo.dir, env: ENV });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown agent "copliot"; did you mean "copilot"?');
  });

  it("suggests a custom agent of the policy", () => {
    const r = runBin(["check", "--base", "main", "--agent", "acme-bto", ...NOW], { cwd: repo.dir, env: ENV });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('did you mean "acme-bot"?');
  });
});

describe("governor check: caveats say where the app's answer may differ", () => {
  it("lists reviews, team membership, the budget and the unread org policy for a gated change", () => {
    const repo = gitRepo({ ".governance.yml": WEBAPP });
    repo.git("checkout", "-qb", "copilot/migration");
    repo.commit("index", { "db/migrations/0042.sql": "create index;\n" });
    const { code, out } = check(repo.dir, ["--base", "main", "--author", "Copilot"]);
    expect(code).toBe(3);
    expect(out.caveats.map((c) => c.id)).toEqual(["org_policy_unread", "reviews", "team_members", "budget"]);
    expect(out.caveats.find((c) => c.id === "team_members")?.message).toContain("@acme/dba");
  });

  it("prints the caveats after the decision in text output", () => {
    const repo = gitRepo({ ".governance.yml": WEBAPP, "org.yml": fixturePolicy("org.yml") });
    repo.git("checkout", "-qb", "copilot/migration");
    repo.commit("index", { "db/migrations/0042.sql": "create index;\n" });
    const r = runBin(["check", "--base", "main", "--author", "Copilot", "--org-policy", "org.yml", "--prs-today", "2", ...NOW], { cwd: repo.dir, env: ENV });
    expect(r.code).toBe(3);
    expect(r.stdout).toContain("The app's answer may differ:\n- Reviews are not read here: 1 approval gate (repo:migrations-need-dba)");
    expect(r.stdout).not.toContain("org policy was not read");
    expect(r.stdout).not.toContain("PRs-per-day");
  });

  it("says the policy came from the working tree when no --base is given", () => {
    const repo = gitRepo({ ".governance.yml": WEBAPP });
    const r = runBin(["check", "--files-from", "-", "--author", "Copilot", "--format", "json", ...NOW], { cwd: repo.dir, input: "docs/a.md\n", env: ENV });
    expect((JSON.parse(r.stdout) as CheckJson).caveats.map((c) => c.id)).toEqual(["policy_not_from_base", "org_policy_unread", "budget", "commits"]);
  });
});

describe("governor check: without any policy", () => {
  it("is not governed when the base has no policy, as the app would say, with a caveat", () => {
    const repo = gitRepo({ "README.md": "hi\n" });
    repo.git("checkout", "-qb", "copilot/x");
    repo.commit("x", { "src/a.ts": "a\n" });
    const { code, out, decision } = check(repo.dir, ["--base", "main", "--author", "Copilot"]);
    expect(code).toBe(0);
    expect(decisionTitle(decision)).toBe("Not governed: no policy");
    expect(out.caveats.map((c) => c.id)).toEqual(["org_policy_unread", "no_policy"]);
  });

  it("exits 2 without --base when the working tree has no policy file", () => {
    const repo = gitRepo({ "README.md": "hi\n" });
    const r = runBin(["check", "--files-from", "-", ...NOW], { cwd: repo.dir, input: "a.ts\n", env: ENV });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no policy file: expected .governance.yml or .github/governance.yml");
  });
});
