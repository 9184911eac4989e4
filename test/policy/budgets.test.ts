// Budgets per agent, per org and per week (issue 15): which numbers bind, and how a repo can only tighten them.
import { describe, expect, it } from "vitest";
import { decide } from "../../src/policy/decide.js";
import { EvaluationInputSchema } from "../../src/policy/input.js";
import { formatProblem, loadPolicy } from "../../src/policy/load.js";
import { input } from "../helpers/policy.js";
import { ruleReason } from "../../src/report/phrases.js";

const ORG = `version: 1
default: allow
owners: { users: [o] }
limits:
  agents:
    copilot: { max_lines: 10 }
org_limits:
  max_prs_per_week: 4
  agents:
    copilot: { max_prs_per_day: 3 }
`;

const withUsage = (policy: string, usage: Record<string, unknown>, org?: string, files?: Parameters<typeof input>[0]["files"]) => {
  const i = input({ policy, ...(org ? { org } : {}), ...(files ? { files } : {}) });
  return decide(EvaluationInputSchema.parse({ ...i, context: { ...i.context, usage: { ...i.context.usage, ...usage } } }));
};

describe("budgets: per agent", () => {
  it("binds an agent by the smaller of its own number and the number for every agent", () => {
    const d = withUsage(
      "version: 1\ndefault: allow\nlimits:\n  max_prs_per_day: 20\n  agents:\n    copilot: { max_prs_per_day: 5 }\n    devin: { max_lines: 300 }\n",
      { prs_by_agent: { copilot: 6 } },
    );
    expect(d.outcome).toBe("denied");
    expect(d.limits).toEqual([{ id: "limits.max_prs_per_day", scope: "repo", agent: "copilot", limit: 5, used: 5, share: 1, actual: 6, exceeded: true }]);
  });

  it("ignores another agent's numbers", () => {
    const d = withUsage("version: 1\ndefault: allow\nlimits:\n  agents:\n    devin: { max_lines: 1 }\n", {});
    expect(d.limits).toEqual([]);
    expect(d.outcome).toBe("allowed");
  });

  it("lets a repo tighten the org's per-agent number, and never loosen it", () => {
    const looser = withUsage("version: 1\ndefault: allow\nlimits:\n  agents:\n    copilot: { max_lines: 100 }\n", {}, ORG, [
      { path: "a", status: "modified", additions: 11, deletions: 0 },
    ]);
    expect(looser.limits.find((l) => l.id === "limits.max_lines")).toMatchObject({ limit: 10, agent: "copilot", exceeded: true });
    expect(looser.rules.find((r) => r.id === "limits.max_lines")?.policy_ref).toMatchObject({ source: "org", line: 6 });
    const tighter = withUsage("version: 1\ndefault: allow\nlimits:\n  agents:\n    copilot: { max_lines: 5 }\n", {}, ORG, [
      { path: "a", status: "modified", additions: 6, deletions: 0 },
    ]);
    expect(tighter.limits.find((l) => l.id === "limits.max_lines")).toMatchObject({ limit: 5, exceeded: true });
  });

  it("reports an unknown agent name at its line and column with the closest name", () => {
    const r = loadPolicy("version: 1\ndefault: allow\nlimits:\n  agents:\n    devn: { max_lines: 3 }\n", ".governance.yml");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map(formatProblem)).toEqual([`.governance.yml:5:5: error: limits.agents.devn: unknown agent "devn"; did you mean "devin"?`]);
  });

  it("accepts a custom agent's name, the org's included", () => {
    const org = loadPolicy("version: 1\ndefault: allow\nagents:\n  custom:\n    - { name: acme-bot, logins: [acme-bot] }\n", "governance.yml", { role: "org" });
    expect(org.ok).toBe(true);
    if (org.ok)
      expect(
        loadPolicy("version: 1\ndefault: allow\nlimits:\n  agents:\n    acme-bot: { max_files: 3 }\n", ".governance.yml", {
          org: org.loaded.policy,
          role: "repo",
        }).ok,
      ).toBe(true);
  });
});

describe("budgets: org-wide and weekly", () => {
  it("denies past the org's per-agent daily budget, counted across the org", () => {
    const d = withUsage(
      "version: 1\ndefault: allow\n",
      { prs_by_agent: { copilot: 1 }, org_prs_by_agent: { copilot: 4 }, org_prs_by_agent_week: { copilot: 4 } },
      ORG,
    );
    expect(d.outcome).toBe("denied");
    expect(d.limits.filter((l) => l.scope === "org")).toEqual([
      { id: "org_limits.max_prs_per_day", scope: "org", agent: "copilot", limit: 3, used: 3, share: 1, actual: 4, exceeded: true },
      { id: "org_limits.max_prs_per_week", scope: "org", agent: "copilot", limit: 4, used: 3, share: 1, actual: 4, exceeded: false },
    ]);
    expect(d.rules.find((r) => r.id === "org_limits.max_prs_per_day")).toMatchObject({
      code: "limit_exceeded",
      params: { key: "max_prs_per_day", scope: "org" },
    });
    expect(
      ruleReason(
        d.rules.find((r) => r.id === "org_limits.max_prs_per_day")!,
        d,
      ),
    ).toContain("across the org's repositories within 24 hours");
  });

  it("denies past a weekly budget while the daily one holds", () => {
    const d = withUsage("version: 1\ndefault: allow\nlimits: { max_prs_per_day: 5, max_prs_per_week: 8 }\n", {
      prs_by_agent: { copilot: 2 },
      prs_by_agent_week: { copilot: 9 },
    });
    expect(d.outcome).toBe("denied");
    expect(d.rules.filter((r) => r.action === "deny").map((r) => r.id)).toEqual(["limits.max_prs_per_week"]);
    expect(
      ruleReason(
        d.rules.find((r) => r.id === "limits.max_prs_per_week")!,
        d,
      ),
    ).toContain("within 7 days of its opening; its budget is 8 a week");
  });

  it("asks the org's owners when org_limits.action is require_approval", () => {
    const org = ORG.replace("org_limits:\n", "org_limits:\n  action: require_approval\n");
    const d = withUsage("version: 1\ndefault: allow\nowners: { users: [repo-owner] }\n", { org_prs_by_agent: { copilot: 4 } }, org);
    expect(d.outcome).toBe("needs_approval");
    expect(d.rules.find((r) => r.id === "org_limits.max_prs_per_day")?.gate?.approvers.users).toEqual(["o"]);
  });

  it("denies past the org's compute budget, with this PR's branch's minutes as its share", () => {
    const org = "version: 1\ndefault: allow\norg_limits: { max_compute_minutes_per_week: 100 }\n";
    const compute_minutes = { repo_day: {}, repo_week: { copilot: 30 }, org_day: {}, org_week: { copilot: 101 }, pr_day: {}, pr_week: { copilot: 12 } };
    const d = withUsage("version: 1\ndefault: allow\n", { compute_minutes }, org);
    expect(d.outcome).toBe("denied");
    expect(d.limits).toEqual([
      { id: "org_limits.max_compute_minutes_per_week", scope: "org", agent: "copilot", limit: 100, used: 89, share: 12, actual: 101, exceeded: true },
    ]);
  });

  it("rejects org_limits in a repository's policy", () => {
    const r = loadPolicy("version: 1\ndefault: allow\norg_limits: { max_prs_per_day: 99 }\n", ".governance.yml", { role: "repo" });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]).toMatchObject({ line: 3, column: 1, field: "org_limits", message: expect.stringContaining("only valid in the org policy") });
  });

  it("replays an input stored before weeks and org places existed", () => {
    const stored = JSON.parse(JSON.stringify(input({ policy: "version: 1\ndefault: allow\nlimits: { max_prs_per_day: 5 }\n", prsToday: 6 }))) as {
      context: { usage: Record<string, unknown> };
    };
    for (const key of ["prs_by_agent", "prs_by_agent_week", "org_prs_by_agent", "org_prs_by_agent_week"]) delete stored.context.usage[key];
    expect(decide(EvaluationInputSchema.parse(stored)).limits[0]).toMatchObject({ actual: 6, exceeded: true });
  });
});
