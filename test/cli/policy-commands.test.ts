import { execFileSync } from "node:child_process";
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DecisionSchema } from "../../src/policy/decision.js";
import { run, runBin, tempDir } from "../helpers/cli.js";
import { fixturePolicy } from "../helpers/policy.js";

const WEBAPP = fixturePolicy("webapp-monorepo.yml");
const NOW = ["--now", "2026-11-24T12:00:00Z"];
const COPILOT = ["--author", "Copilot", "--author-type", "Bot", "--branch", "copilot/fix", ...NOW];

describe("governor validate", () => {
  it("exits 0 and says valid for a good policy", async () => {
    const cwd = tempDir({ ".governance.yml": WEBAPP });
    const r = await run(["validate"], { cwd });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(".governance.yml: valid (6 rules, 8 classes)\n");
  });

  it("exits 2 and prints file:line:column: message for each error", async () => {
    const cwd = tempDir({ "p.yml": "version: 1\nrulez: []\nowners: { users: [a] }\nscope: sometimes\n" });
    const r = await run(["validate", "p.yml"], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('p.yml:2:1: error: rulez: unknown key "rulez"; did you mean "rules"?');
    expect(r.stderr).toContain("p.yml:4:8: error: scope: expected");
  });

  it("prints warnings on stderr and still exits 0", async () => {
    const cwd = tempDir({ "p.yml": "version: 1\nclasses: { docs: ['*.md'] }\ndefault: allow\nowners: { users: [a] }\n" });
    const r = await run(["validate", "p.yml"], { cwd });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('p.yml:2:20: warning: classes.docs[0]: "*.md" only matches files at the repository root; did you mean "**/*.md"?');
  });

  it("refuses a repo with both policy files, naming both", async () => {
    const cwd = tempDir({ ".governance.yml": WEBAPP, ".github/governance.yml": WEBAPP });
    const r = await run(["validate"], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("both .governance.yml and .github/governance.yml exist");
  });

  it("validates several files in one run", async () => {
    const cwd = tempDir({ "a.yml": WEBAPP, "b.yml": "version: 3\n" });
    const r = await run(["validate", "a.yml", "b.yml"], { cwd });
    expect(r.code).toBe(2);
    expect(r.stdout).toContain("a.yml: valid");
    expect(r.stderr).toContain("b.yml:1:10: error: version:");
  });
});

describe("governor validate --org-policy", () => {
  const ORG =
    "version: 1\nagents: { custom: [{ name: acme-bot, logins: [acme] }] }\ndefault: allow\ndefault_approvers: { users: [dev] }\nowners: { users: [o] }\n";
  const REPO = 'version: 1\nrules:\n  - id: bot-api\n    match: { paths: ["api/**"], agents: [acme-bot] }\n    action: require_approval\n';

  it("accepts a repo policy that names the org's agents and relies on its approvers", async () => {
    const r = await run(["validate", "--org-policy", "org.yml", ".governance.yml"], { cwd: tempDir({ "org.yml": ORG, ".governance.yml": REPO }) });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("org.yml: valid (0 rules, 0 classes)\n.governance.yml: valid with org.yml (1 rules, 0 classes)\n");
    expect(r.stderr).toBe("");
  });

  it("refuses the same repo policy alone, with file:line:column", async () => {
    const r = await run(["validate", ".governance.yml"], { cwd: tempDir({ ".governance.yml": REPO }) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('.governance.yml:4:42: error: rules[0].match.agents[0]: unknown agent "acme-bot"');
  });

  it("exits 2 with file:line:column for an error in the combination, through the real bin", () => {
    const cwd = tempDir({ "org.yml": ORG, ".governance.yml": REPO.replace("[acme-bot]", "[acme-bto]") });
    const r = runBin(["validate", "--org-policy", "org.yml"], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('.governance.yml:4:42: error: rules[0].match.agents[0]: unknown agent "acme-bto"; did you mean "acme-bot"?');
  });

  it("fails on an invalid org policy, reporting its errors", async () => {
    const r = await run(["validate", "--org-policy", "org.yml", ".governance.yml"], {
      cwd: tempDir({ "org.yml": "version: 1\nscope: sometimes\n", ".governance.yml": REPO }),
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("org.yml:2:8: error: scope: expected");
  });

  it("warns about a glob that can never match, and still exits 0", async () => {
    const cwd = tempDir({ "p.yml": "version: 1\nclasses: { infra: ['infra/terraform/'] }\ndefault: allow\nowners: { users: [a] }\n" });
    const r = await run(["validate", "p.yml"], { cwd });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      'p.yml:2:21: warning: classes.infra[0]: "infra/terraform/" ends with /: GitHub reports file paths, never directories, so it matches nothing; did you mean "infra/terraform/**"?',
    );
  });
});

describe("governor schema", () => {
  it("prints a JSON Schema generated from the zod schema", async () => {
    const r = await run(["schema"], { cwd: tempDir() });
    const schema = JSON.parse(r.stdout) as { properties: Record<string, unknown>; additionalProperties: boolean; $schema: string };
    expect(Object.keys(schema.properties).sort()).toEqual([
      "agents",
      "approvals",
      "classes",
      "default",
      "default_approvers",
      "labels",
      "limits",
      "mode",
      "org_limits",
      "overrides",
      "owners",
      "rules",
      "scope",
      "version",
    ]);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.$schema).toContain("2020-12");
  });
});

describe("governor check", () => {
  it("exits 0 for an allowed change read from --files-from", async () => {
    const cwd = tempDir({ ".governance.yml": WEBAPP, "files.txt": "docs/intro.md\napps/web/src/components/Button.tsx\n" });
    const r = await run(["check", "--files-from", "files.txt", ...COPILOT], { cwd });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Allowed: 2 files within policy/);
  });

  it("exits 3 when approval is needed and 0 once a team member approves", async () => {
    const cwd = tempDir({ ".governance.yml": WEBAPP, "f.txt": "db/migrations/0042_add_index.sql\n" });
    const needs = await run(["check", "--files-from", "f.txt", ...COPILOT], { cwd });
    expect(needs.code).toBe(3);
    expect(needs.stdout).toContain("- repo:migrations-need-dba [require_approval, unmet] (.governance.yml:35)");
    const ok = await run(["check", "--files-from", "f.txt", ...COPILOT, "--approved-by", "dana", "--team", "dana:acme/dba"], { cwd });
    expect(ok.code).toBe(0);
  });

  it("exits 4 for a denied change and prints the reason and escalation", async () => {
    const cwd = tempDir({ ".governance.yml": WEBAPP, "f.txt": "apps/api/src/billing/charge.ts\n" });
    const r = await run(["check", "--files-from", "f.txt", ...COPILOT], { cwd });
    expect(r.code).toBe(4);
    expect(r.stdout).toContain("why: Billing is frozen until the compliance audit.");
    expect(r.stdout).toContain("escalate: Ask @acme/billing-leads in #billing");
  });

  it("exits 2 for an invalid policy", async () => {
    const cwd = tempDir({ ".governance.yml": "version: 1\nrules: 5\n", "f.txt": "a\n" });
    const r = await run(["check", "--files-from", "f.txt", ...COPILOT], { cwd });
    expect(r.code).toBe(2);
    expect(r.stdout).toContain("error: .governance.yml:2:8: rules: expected array, got number 5");
  });

  it("prints the governor.decision/v2 object with --json", async () => {
    const cwd = tempDir({ ".governance.yml": WEBAPP, "f.txt": "docs/a.md\n" });
    const r = await run(["check", "--files-from", "f.txt", "--json", ...COPILOT], { cwd });
    const decision = DecisionSchema.parse(JSON.parse(r.stdout));
    expect(decision.agent?.signals.map((s) => s.kind)).toEqual(["login", "branch"]);
  });

  it("does not govern a human author", async () => {
    const cwd = tempDir({ ".governance.yml": WEBAPP, "f.txt": "apps/api/src/billing/charge.ts\n" });
    const r = await run(["check", "--files-from", "f.txt", "--author", "octocat", "--branch", "feature/x", ...NOW], { cwd });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Not governed/);
  });

  it("forces an agent with --agent", async () => {
    const cwd = tempDir({ ".governance.yml": WEBAPP, "f.txt": "apps/api/src/billing/charge.ts\n" });
    const r = await run(["check", "--files-from", "f.txt", "--author", "octocat", "--agent", "devin", ...NOW], { cwd });
    expect(r.code).toBe(4);
    expect(r.stdout).toContain("Agent: devin (forced: devin)");
  });

  it("reads git numstat output, renames included, and counts lines against the budget", async () => {
    const cwd = tempDir({ ".governance.yml": WEBAPP, "n.txt": "900\t200\tdocs/{old => new}/guide.md\n" });
    const r = await run(["check", "--files-from", "n.txt", "--json", ...COPILOT], { cwd });
    const d = DecisionSchema.parse(JSON.parse(r.stdout));
    expect(d.limits.find((l) => l.id === "limits.max_lines")).toMatchObject({ actual: 1100, exceeded: true });
    expect(d.rules.find((r) => r.id === "repo:tests-docs-ui")?.files).toEqual(["docs/new/guide.md", "docs/old/guide.md"]);
  });

  it("reads git name-status output", async () => {
    const cwd = tempDir({ ".governance.yml": WEBAPP, "s.txt": "R100\tdocs/a.md\tapps/api/src/billing/a.md\nD\tdocs/b.md\n" });
    const r = await run(["check", "--files-from", "s.txt", ...COPILOT], { cwd });
    expect(r.code).toBe(4);
  });

  it("applies the org policy given with --org-policy", async () => {
    const cwd = tempDir({ ".governance.yml": WEBAPP, "org.yml": fixturePolicy("org.yml"), "f.txt": "docs/.env\n" });
    const r = await run(["check", "--files-from", "f.txt", "--org-policy", "org.yml", ...COPILOT], { cwd });
    expect(r.code).toBe(4);
    expect(r.stdout).toContain("org:no-secrets");
  });

  it("counts --prs-today against max_prs_per_day", async () => {
    const cwd = tempDir({ ".governance.yml": WEBAPP, "f.txt": "docs/a.md\n" });
    const r = await run(["check", "--files-from", "f.txt", "--prs-today", "21", ...COPILOT], { cwd });
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(/limits.max_prs_per_day \(repo, [a-z]+\): 21 of 20 \(exceeded\)/);
  });

  it("exits 2 with a usage message when no change is given", async () => {
    const cwd = tempDir({ ".governance.yml": WEBAPP });
    const r = await run(["check", ...COPILOT], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("say which files changed");
  });

  it("exits 2 for a malformed option value", async () => {
    const cwd = tempDir({ ".governance.yml": WEBAPP, "f.txt": "a\n" });
    const r = await run(["check", "--files-from", "f.txt", "--now", "yesterday"], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("expected an ISO 8601 time");
  });

  it("reads the change from git with --base through the real bin, renames detected", () => {
    const cwd = tempDir({ ".governance.yml": WEBAPP, "docs/guide.md": "hello\n".repeat(20) });
    const git = (...args: string[]) =>
      execFileSync("git", args, {
        cwd,
        stdio: "ignore",
        env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@e", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@e" },
      });
    git("init", "-q", "-b", "main");
    git("add", "-A");
    git("commit", "-qm", "base");
    git("checkout", "-qb", "copilot/move-guide");
    mkdirSync(join(cwd, "apps/api/src/billing"), { recursive: true });
    git("mv", "docs/guide.md", "apps/api/src/billing/guide.md");
    writeFileSync(join(cwd, "docs/new.md"), "x\n");
    git("add", "-A");
    git("commit", "-qm", "move");
    const r = runBin(["check", "--base", "main", "--author", "Copilot", "--author-type", "Bot", "--json", ...NOW], { cwd });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(4);
    const d = DecisionSchema.parse(JSON.parse(r.stdout));
    expect(d.agent?.signals.map((s) => s.value)).toEqual(["Copilot", "copilot/move-guide"]);
    expect(d.rules.find((x) => x.id === "repo:billing-freeze")?.files).toEqual(["apps/api/src/billing/guide.md"]);
  });

  it("reads the file list from stdin with --files-from - through the real bin", () => {
    const cwd = tempDir({ ".governance.yml": WEBAPP });
    const r = runBin(["check", "--files-from", "-", ...COPILOT], { cwd, input: "docs/a.md\n" });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Allowed/);
  });
});
