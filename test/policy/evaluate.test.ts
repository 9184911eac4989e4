import { describe, expect, it } from "vitest";
import type { ChangeInput } from "../../src/policy/change.js";
import { canonicalJson } from "../../src/policy/canonical.js";
import { decide, PolicyCache } from "../../src/policy/decide.js";
import { DecisionSchema } from "../../src/policy/decision.js";
import { approval, decideCase, file, fixturePolicy, HEAD, input } from "../helpers/policy.js";
import { decisionSummary, decisionTitle, ruleReason } from "../../src/report/phrases.js";

const POLICY = `version: 1
classes:
  tests: ["test/**", "**/*.test.ts"]
  docs: ["docs/**", "**/*.md"]
  migrations: ["db/migrations/**"]
  auth: ["src/auth/**", "!src/auth/**/*.md"]
  billing: ["src/billing/**"]
rules:
  - id: billing-freeze
    match: { classes: [billing] }
    action: deny
    reason: "Billing is frozen until the compliance audit."
    active: { until: 2026-12-31 }
    escalate: "Ask @acme/billing-leads in #billing"
  - id: migrations-need-dba
    match: { classes: [migrations] }
    action: require_approval
    approvers: { teams: [acme/dba], users: [], count: 1 }
  - id: auth-two
    match: { classes: [auth] }
    action: require_approval
    approvers: { users: [alice, bob, carol], count: 2 }
  - id: tests-and-docs
    match: { classes: [tests, docs] }
    action: allow
default: require_approval
default_approvers: { teams: [acme/maintainers], count: 1 }
owners: { teams: [acme/platform] }
`;

const ids = (d: ReturnType<typeof decideCase>) => d.rules.map((r) => r.id);

describe("evaluate: outcomes", () => {
  it("allows a change whose every file an allow rule covers", () => {
    const d = decideCase({ policy: POLICY, files: ["docs/guide.md", "test/a.test.ts"] });
    expect(d.outcome).toBe("allowed");
    expect(decisionTitle(d)).toBe("Allowed: 2 files within policy");
    expect(ids(d)).toEqual(["repo:tests-and-docs"]);
  });

  it("denies when any file is covered by a deny rule, citing the rule line and escalation", () => {
    const d = decideCase({ policy: POLICY, files: ["docs/a.md", "src/billing/invoice.ts"] });
    expect(d.outcome).toBe("denied");
    expect(decisionTitle(d)).toBe("Denied: repo:billing-freeze");
    const rule = d.rules.find((r) => r.id === "repo:billing-freeze");
    expect(rule?.policy_ref).toEqual({ source: "repo", path: ".governance.yml", repo: "acme/webapp", sha: "b".repeat(40), line: 9 });
    expect(rule?.escalate).toBe("Ask @acme/billing-leads in #billing");
    expect(decisionSummary(d)).toContain("Billing is frozen until the compliance audit.");
  });

  it("needs approval when a gate is unmet and names the gate count in the title", () => {
    const d = decideCase({ policy: POLICY, files: ["db/migrations/001.sql"] });
    expect(d.outcome).toBe("needs_approval");
    expect(decisionTitle(d)).toBe("Needs approval: 0 of 1 gate met");
  });

  it("does not govern a human PR under scope: agents", () => {
    const d = decideCase({ policy: POLICY, change: { author: { login: "octocat", type: "User" }, head_branch: "feature/x" } });
    expect(d.outcome).toBe("not_governed");
    expect(d.agent).toBeNull();
  });

  it("governs a human PR under scope: all", () => {
    const d = decideCase({
      policy: `${POLICY}scope: all\n`,
      change: { author: { login: "octocat", type: "User" }, head_branch: "feature/x" },
      files: ["src/billing/x.ts"],
    });
    expect(d.outcome).toBe("denied");
  });

  it("is not governed when there is no policy at all", () => {
    const d = decideCase({ files: ["src/billing/x.ts"] });
    expect(d.outcome).toBe("not_governed");
    expect(decisionTitle(d)).toBe("Not governed: no policy");
  });

  it("returns an error decision listing file:line for an invalid policy", () => {
    const d = decideCase({ policy: "version: 1\nrules:\n  - id: x\n    match: { classes: [nope] }\n    action: allow\n" });
    expect(d.outcome).toBe("error");
    expect(d.errors[0]).toMatchObject({ line: 4, field: "rules[0].match.classes[0]" });
    expect(d.errors[0]?.message).toContain('unknown class "nope"');
  });
});

describe("evaluate: which rules apply to a file", () => {
  it("lets the most restrictive action win regardless of rule order", () => {
    const reversed = POLICY.replace("rules:\n", 'rules:\n  - id: all-allowed\n    match: { paths: ["**"] }\n    action: allow\n');
    const d = decideCase({ policy: reversed, files: ["src/billing/a.ts"] });
    expect(d.outcome).toBe("denied");
    expect(ids(d)).toEqual(["repo:billing-freeze"]);
  });

  it("applies every require_approval rule covering a file as its own gate", () => {
    const policy = POLICY.replace(
      "rules:\n",
      'rules:\n  - id: sql-review\n    match: { paths: ["**/*.sql"] }\n    action: require_approval\n    approvers: { users: [dave] }\n',
    );
    const d = decideCase({ policy, files: ["db/migrations/001.sql"] });
    expect(ids(d).sort()).toEqual(["repo:migrations-need-dba", "repo:sql-review"]);
    expect(d.gates).toEqual({ total: 2, met: 0 });
  });

  it("sends files no rule covers to the default, listing them as unmatched", () => {
    const d = decideCase({ policy: POLICY, files: ["src/app.ts", "docs/a.md"] });
    expect(d.unmatched_files).toEqual(["src/app.ts"]);
    const def = d.rules.find((r) => r.id === "repo.default");
    expect(def?.action).toBe("require_approval");
    expect(def?.gate?.approvers.teams).toEqual(["acme/maintainers"]);
  });

  it("honours ! excludes inside a class", () => {
    const d = decideCase({ policy: POLICY, files: ["src/auth/README.md"] });
    expect(d.outcome).toBe("allowed"); // excluded from auth, covered by docs
  });

  it("counts a rename under both its old and new path", () => {
    const d = decideCase({ policy: POLICY, files: [file("src/app/pay.ts", { status: "renamed", previous_path: "src/billing/pay.ts" })] });
    expect(d.outcome).toBe("denied");
    expect(d.rules.find((r) => r.id === "repo:billing-freeze")?.files).toEqual(["src/billing/pay.ts"]);
  });

  it("counts a rename into a protected path", () => {
    const d = decideCase({ policy: POLICY, files: [file("src/billing/new.ts", { status: "renamed", previous_path: "docs/old.md" })] });
    expect(d.outcome).toBe("denied");
  });

  it("covers a path reported as dir itself (a submodule pointer) by a dir/** rule", () => {
    const policy = 'version: 1\nrules:\n  - { id: vendored, match: { paths: ["vendor/lib/**"] }, action: deny }\ndefault: allow\nowners: { users: [o] }\n';
    const d = decideCase({ policy, files: [file("vendor/lib", { additions: 1, deletions: 1 })] });
    expect(d.outcome).toBe("denied");
    expect(d.rules.map((r) => r.id)).toEqual(["repo:vendored"]);
  });

  it("counts deletions", () => {
    const d = decideCase({ policy: POLICY, files: [file("src/billing/old.ts", { status: "removed", additions: 0, deletions: 40 })] });
    expect(d.outcome).toBe("denied");
  });

  it("ignores a rule outside its active window", () => {
    const d = decideCase({ policy: POLICY, files: ["src/billing/a.ts"], now: "2027-01-01T00:00:00Z" });
    expect(ids(d)).toEqual(["repo.default"]);
  });

  it("treats an until date as inclusive of that whole day (UTC)", () => {
    const d = decideCase({ policy: POLICY, files: ["src/billing/a.ts"], now: "2026-12-31T23:59:59Z" });
    expect(d.outcome).toBe("denied");
  });

  it("starts a window at from, midnight UTC", () => {
    const policy = POLICY.replace("active: { until: 2026-12-31 }", "active: { from: 2026-12-01 }");
    expect(decideCase({ policy, files: ["src/billing/a.ts"], now: "2026-11-30T23:59:59Z" }).outcome).not.toBe("denied");
    expect(decideCase({ policy, files: ["src/billing/a.ts"], now: "2026-12-01T00:00:00Z" }).outcome).toBe("denied");
  });

  it("narrows a rule to the agents it names", () => {
    const policy = POLICY.replace("    match: { classes: [billing] }", "    match: { classes: [billing], agents: [codex] }");
    expect(decideCase({ policy, files: ["src/billing/a.ts"] }).outcome).not.toBe("denied");
    expect(decideCase({ policy, files: ["src/billing/a.ts"], change: { author: { login: "dev", type: "User" }, head_branch: "codex/fix" } }).outcome).toBe(
      "denied",
    );
  });
});

describe("evaluate: the policy file gate", () => {
  it("always adds an owners gate when the agent edits the policy file, even if a rule allows it", () => {
    const policy = POLICY.replace("rules:\n", 'rules:\n  - id: everything\n    match: { paths: ["**"] }\n    action: allow\n');
    const d = decideCase({ policy, files: [".governance.yml"] });
    expect(d.outcome).toBe("needs_approval");
    const gate = d.rules.find((r) => r.id === "builtin:policy-change");
    expect(gate?.gate?.approvers.teams).toEqual(["acme/platform"]);
  });

  it("also guards .github/governance.yml", () => {
    const d = decideCase({ policy: POLICY, files: [".github/governance.yml"] });
    expect(ids(d)).toContain("builtin:policy-change");
  });

  it("passes once an owner approves the head commit", () => {
    const d = decideCase({
      policy: POLICY,
      files: [".governance.yml", "docs/a.md"],
      change: { reviews: [approval("olga")], team_members: { "acme/platform": ["olga"], "acme/maintainers": ["olga"] } },
    });
    expect(d.outcome).toBe("allowed");
  });
});

describe("evaluate: gates and approvals", () => {
  const migration = { policy: POLICY, files: ["db/migrations/001.sql"] };
  const dba = { "acme/dba": ["dana", "Copilot", "dependabot[bot]"] };

  it("is met by an approval from a team member on the head commit", () => {
    const d = decideCase({ ...migration, change: { reviews: [approval("dana")], team_members: dba } });
    expect(d.outcome).toBe("allowed");
    expect(d.rules[0]?.gate?.approved_by).toEqual(["dana"]);
  });

  it("ignores the PR author's approval", () => {
    const d = decideCase({
      ...migration,
      change: { author: { login: "dana", type: "User" }, head_branch: "codex/x", reviews: [approval("dana")], team_members: dba },
    });
    expect(d.outcome).toBe("needs_approval");
    expect(d.rules[0]?.gate?.ignored).toEqual([{ login: "dana", code: "author" }]);
  });

  it("lists ignored approvals by code point, so the decision's bytes do not depend on the host's locale", () => {
    const bots = ["zed[bot]", "aaron[bot]", "Bob[bot]"].map((login) => approval(login, { type: "Bot" }));
    const d = decideCase({ ...migration, change: { reviews: bots, team_members: dba } });
    expect(d.rules[0]?.gate?.ignored.map((i) => i.login)).toEqual(["Bob[bot]", "aaron[bot]", "zed[bot]"]);
  });

  it("ignores a bot's approval even when the bot is in the team", () => {
    const d = decideCase({ ...migration, change: { reviews: [approval("dependabot[bot]", { type: "Bot" })], team_members: dba } });
    expect(d.outcome).toBe("needs_approval");
    expect(d.rules[0]?.gate?.ignored[0]?.code).toBe("automated");
  });

  it("ignores an agent's approval (an agent cannot approve itself)", () => {
    const d = decideCase({
      ...migration,
      change: { author: { login: "dev", type: "User" }, head_branch: "copilot/x", reviews: [approval("Copilot", { type: "User" })], team_members: dba },
    });
    expect(d.outcome).toBe("needs_approval");
  });

  it("ignores approvals from people who are not approvers of the gate", () => {
    const d = decideCase({ ...migration, change: { reviews: [approval("mallory")], team_members: dba } });
    expect(d.rules[0]?.gate?.ignored).toEqual([{ login: "mallory", code: "not_approver" }]);
  });

  it("invalidates an approval of an earlier commit when invalidate_on_push is set", () => {
    const d = decideCase({ ...migration, change: { reviews: [approval("dana", { commit_id: "f".repeat(40) })], team_members: dba } });
    expect(d.outcome).toBe("needs_approval");
    expect(d.rules[0]?.gate?.ignored[0]?.code).toBe("stale");
  });

  it("keeps an approval of an earlier commit when invalidate_on_push is false", () => {
    const d = decideCase({
      policy: `${POLICY}approvals: { invalidate_on_push: false }\n`,
      files: migration.files,
      change: { reviews: [approval("dana", { commit_id: "f".repeat(40) })], team_members: dba },
    });
    expect(d.outcome).toBe("allowed");
  });

  it("holds a gate while an eligible approver's latest review requests changes", () => {
    const d = decideCase({
      policy: POLICY,
      files: ["src/auth/login.ts"],
      change: { reviews: [approval("alice"), approval("bob"), approval("carol", { state: "CHANGES_REQUESTED" })] },
    });
    expect(d.outcome).toBe("needs_approval");
    expect(d.rules[0]?.gate?.changes_requested_by).toEqual(["carol"]);
  });

  it("releases the hold when the same approver later approves", () => {
    const d = decideCase({
      policy: POLICY,
      files: ["src/auth/login.ts"],
      change: {
        reviews: [
          approval("alice"),
          approval("carol", { state: "CHANGES_REQUESTED", at: "2026-11-24T10:00:00Z" }),
          approval("carol", { at: "2026-11-24T11:30:00Z" }),
        ],
      },
    });
    expect(d.outcome).toBe("allowed");
  });

  it("releases the hold when the changes-requested review is dismissed", () => {
    const d = decideCase({
      policy: POLICY,
      files: ["src/auth/login.ts"],
      change: {
        reviews: [
          approval("alice"),
          approval("bob"),
          approval("carol", { state: "CHANGES_REQUESTED", at: "2026-11-24T10:00:00Z", id: 5 }),
          approval("carol", { state: "DISMISSED", at: "2026-11-24T10:30:00Z", id: 6 }),
        ],
      },
    });
    expect(d.outcome).toBe("allowed");
  });

  it("needs count distinct approvers", () => {
    const one = decideCase({
      policy: POLICY,
      files: ["src/auth/login.ts"],
      change: { reviews: [approval("alice"), approval("alice", { at: "2026-11-24T11:10:00Z", id: 9 })] },
    });
    expect(decisionTitle(one)).toBe("Needs approval: 0 of 1 gate met");
    const two = decideCase({ policy: POLICY, files: ["src/auth/login.ts"], change: { reviews: [approval("alice"), approval("bob")] } });
    expect(two.outcome).toBe("allowed");
  });

  it("does not let a comment after an approval undo it", () => {
    const d = decideCase({
      ...migration,
      change: { reviews: [approval("dana"), approval("dana", { state: "COMMENTED", at: "2026-11-24T11:40:00Z", id: 77 })], team_members: dba },
    });
    expect(d.outcome).toBe("allowed");
  });
});

describe("evaluate: limits", () => {
  const limited = `${POLICY}limits: { max_files: 2, max_lines: 10, max_prs_per_day: 3, action: deny }\n`;

  it("denies past max_files as rule limits.max_files", () => {
    const d = decideCase({ policy: limited, files: ["docs/a.md", "docs/b.md", "docs/c.md"] });
    expect(d.outcome).toBe("denied");
    expect(ids(d)).toContain("limits.max_files");
    expect(d.limits.find((l) => l.id === "limits.max_files")).toEqual({
      id: "limits.max_files",
      scope: "repo",
      agent: null,
      limit: 2,
      used: 0,
      share: 3,
      actual: 3,
      exceeded: true,
    });
  });

  it("counts additions plus deletions against max_lines", () => {
    const d = decideCase({ policy: limited, files: [file("docs/a.md", { additions: 6, deletions: 5 })] });
    expect(ids(d)).toEqual(["repo:tests-and-docs", "limits.max_lines"]);
  });

  it("counts this PR in max_prs_per_day", () => {
    expect(decideCase({ policy: limited, files: ["docs/a.md"], prsToday: 3 }).outcome).toBe("allowed");
    expect(decideCase({ policy: limited, files: ["docs/a.md"], prsToday: 4 }).outcome).toBe("denied");
  });

  it("opens an owners gate instead when limits.action is require_approval", () => {
    const d = decideCase({ policy: limited.replace("action: deny }", "action: require_approval }"), files: ["docs/a.md", "docs/b.md", "docs/c.md"] });
    expect(d.outcome).toBe("needs_approval");
    expect(d.rules.find((r) => r.id === "limits.max_files")?.gate?.approvers.teams).toEqual(["acme/platform"]);
  });

  it("denies a PR whose file list GitHub could not give in full", () => {
    const d = decideCase({ policy: POLICY, files: ["docs/a.md"], change: { total_files: 3500 } });
    expect(d.outcome).toBe("denied");
    expect(ids(d)).toEqual(["builtin:incomplete-file-list", "repo:tests-and-docs"]);
  });

  it("denies a list as long as GitHub's cap when the PR's own count of files is unknown", () => {
    const files = Array.from({ length: 3000 }, (_, i) => `docs/p${i}.md`);
    const d = decideCase({ policy: POLICY, files });
    expect(d.outcome).toBe("denied");
    const rule = d.rules.find((r) => r.id === "builtin:incomplete-file-list")!;
    expect(rule).toMatchObject({ code: "incomplete_file_list", params: { listed: 3000, total: null, cap: 3000 } });
    expect(rule.reason).toBeUndefined();
    expect(ruleReason(rule, d)).toMatch(/^GitHub listed 3000 files, the most it lists/);
    expect(decideCase({ policy: POLICY, files, change: { total_files: 3000 } }).outcome).toBe("allowed");
  });
});

describe("evaluate: agent identity", () => {
  const cases: Array<[string, Partial<ChangeInput>, string]> = [
    ["login", { author: { login: "devin-ai-integration[bot]", type: "Bot" }, head_branch: "feature" }, "devin"],
    ["branch", { author: { login: "dev", type: "User" }, head_branch: "codex/add-tests" }, "codex"],
    ["commit_author", { author: { login: "dev", type: "User" }, head_branch: "fix", commit_authors: ["noreply@anthropic.com"] }, "claude"],
  ];
  it.each(cases)("identifies an agent by %s and says which signal matched", (kind, change, name) => {
    const d = decideCase({ policy: POLICY, files: ["docs/a.md"], change });
    expect(d.agent?.name).toBe(name);
    expect(d.agent?.signals[0]?.kind).toBe(kind);
  });

  it("identifies a custom agent by label", () => {
    const d = decideCase({
      policy: fixturePolicy("webapp-monorepo.yml"),
      files: ["docs/a.md"],
      change: { author: { login: "dev", type: "User" }, head_branch: "x", labels: ["ai-generated"] },
    });
    expect(d.agent).toEqual({ name: "acme-bot", signals: [{ kind: "label", value: "ai-generated", matched: "acme-bot" }] });
  });

  it("only recognises the presets the policy lists", () => {
    const policy = POLICY.replace("version: 1\n", "version: 1\nagents: { presets: [devin] }\n");
    expect(decideCase({ policy, files: ["docs/a.md"] }).outcome).toBe("not_governed");
  });
});

describe("evaluate: org and repo policies combined", () => {
  const org = fixturePolicy("org.yml");

  it("applies both policies' rules, namespaced", () => {
    const d = decideCase({ org, policy: POLICY, files: ["config/.env", "docs/a.md"] });
    expect(d.outcome).toBe("denied");
    expect(ids(d)).toEqual(["org:no-secrets", "repo:tests-and-docs"]);
  });

  it("takes the stricter default: the repo tightens the org's allow", () => {
    const d = decideCase({ org, policy: POLICY, files: ["src/app.ts"] });
    expect(d.rules.find((r) => r.id === "repo.default")?.action).toBe("require_approval");
  });

  it("cannot loosen the org: a repo allow does not beat an org deny", () => {
    const loose = "version: 1\nrules:\n  - id: anything\n    match: { paths: ['**'] }\n    action: allow\ndefault: allow\nowners: { users: [x] }\n";
    expect(decideCase({ org, policy: loose, files: ["a/.env"] }).outcome).toBe("denied");
  });

  it("takes the smaller numeric limit", () => {
    const repo = `${POLICY}limits: { max_files: 500 }\n`;
    const d = decideCase({ org, policy: repo, files: ["docs/a.md"] });
    expect(d.limits.find((l) => l.id === "limits.max_files")?.limit).toBe(100);
  });

  it("unions agent definitions", () => {
    const repo = POLICY.replace("version: 1\n", "version: 1\nagents: { presets: [], custom: [{ name: robo, logins: [robo-dev] }] }\n");
    const orgOnlyDevin = "version: 1\nagents: { presets: [devin] }\ndefault: allow\nowners: { users: [x] }\n";
    expect(
      decideCase({ org: orgOnlyDevin, policy: repo, files: ["docs/a.md"], change: { author: { login: "robo-dev", type: "User" }, head_branch: "x" } }).agent
        ?.name,
    ).toBe("robo");
    expect(
      decideCase({ org: orgOnlyDevin, policy: repo, files: ["docs/a.md"], change: { author: { login: "devin-ai-integration[bot]", type: "Bot" } } }).agent
        ?.name,
    ).toBe("devin");
  });

  it("uses the org policy alone when the repo has none", () => {
    const d = decideCase({ org, files: ["src/app.ts"] });
    expect(d.outcome).toBe("allowed");
  });
});

describe("evaluate: determinism", () => {
  it("gives byte-identical output for the same inputs, cached or not", () => {
    const i = input({
      policy: fixturePolicy("webapp-monorepo.yml"),
      files: ["apps/api/src/auth/x.ts", "docs/a.md", "db/migrations/1.sql"],
      change: { reviews: [approval("dana")] },
    });
    const cache = new PolicyCache();
    const a = canonicalJson(decide(i));
    expect(canonicalJson(decide(i, cache))).toBe(a);
    expect(canonicalJson(decide(structuredClone(i), cache))).toBe(a);
  });

  it("produces decisions that satisfy the governor.decision/v2 schema", () => {
    for (const policy of ["webapp-monorepo.yml", "payments-service.yml", "infra.yml"]) {
      const d = decideCase({ policy: fixturePolicy(policy), files: ["docs/a.md", "envs/prod/main.tf", "internal/ledger/x.go"], change: { head_sha: HEAD } });
      expect(DecisionSchema.safeParse(d).success).toBe(true);
    }
  });
});
