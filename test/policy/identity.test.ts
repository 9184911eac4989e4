// Who governs a PR: every matching agent, sticky recorded agents, case-insensitive labels, per-agent budgets.
import { describe, expect, it } from "vitest";
import { decide } from "../../src/policy/decide.js";
import { EvaluationInputSchema } from "../../src/policy/input.js";
import { decideCase, input, NOW } from "../helpers/policy.js";
import { decisionSummary } from "../../src/report/phrases.js";
import { ruleReason } from "../../src/report/phrases.js";

const POLICY = `version: 1
agents:
  presets: all
  custom:
    - name: acme-bot
      labels: ["ai-generated"]
rules:
  - id: no-claude-billing
    match: { paths: ["src/billing/**"], agents: [claude] }
    action: deny
  - id: docs
    match: { paths: ["docs/**", "src/**"] }
    action: allow
default: allow
owners: { users: [o] }
limits: { max_prs_per_day: 5 }
`;

const copilotWithClaudeTrailer = { commit_authors: ["noreply@anthropic.com"] };

describe("identity: labels", () => {
  it("matches an agent's label whatever its case, as GitHub does", () => {
    const d = decideCase({ policy: POLICY, change: { author: { login: "octocat", type: "User" }, head_branch: "feature", labels: ["AI-Generated"] } });
    expect(d.agent).toEqual({ name: "acme-bot", signals: [{ kind: "label", value: "AI-Generated", matched: "acme-bot" }] });
  });
});

describe("identity: several agents", () => {
  it("lists every matching agent, the strongest signal first", () => {
    const d = decideCase({ policy: POLICY, change: copilotWithClaudeTrailer });
    expect(d.agent?.name).toBe("copilot");
    expect(d.agents.map((a) => [a.name, a.signals.map((s) => s.kind)])).toEqual([
      ["copilot", ["login", "branch"]],
      ["claude", ["commit_author"]],
    ]);
  });

  it("applies the rules of every matching agent: a copilot/ branch with a Claude trailer is bound by Claude's rules", () => {
    const d = decideCase({ policy: POLICY, files: ["src/billing/x.ts"], change: copilotWithClaudeTrailer });
    expect(d.outcome).toBe("denied");
    expect(d.rules.map((r) => r.id)).toEqual(["repo:no-claude-billing"]);
  });

  it("names every agent in the summary", () => {
    const d = decideCase({ policy: POLICY, change: copilotWithClaudeTrailer });
    expect(decisionSummary(d)).toMatch(
      /^The agents copilot \(identified by login Copilot, branch copilot\/fix-7\) and claude \(identified by commit_author noreply@anthropic.com\)/,
    );
  });

  it("holds each matching agent to its own daily budget: the strictest wins", () => {
    const i = input({ policy: POLICY, change: copilotWithClaudeTrailer, prsToday: 1 });
    i.context.usage.prs_by_agent = { copilot: 2, claude: 6 };
    const d = decide(i);
    expect(d.outcome).toBe("denied");
    expect(d.limits).toEqual([
      { id: "limits.max_prs_per_day", scope: "repo", agent: "copilot", limit: 5, used: 1, share: 1, actual: 2, exceeded: false },
      { id: "limits.max_prs_per_day", scope: "repo", agent: "claude", limit: 5, used: 5, share: 1, actual: 6, exceeded: true },
    ]);
    expect(
      ruleReason(
        d.rules.find((r) => r.id === "limits.max_prs_per_day")!,
        d,
      ),
    ).toContain("the agent claude's PR number 6");
  });

  it("falls back to prs_today for an agent without its own count", () => {
    const i = input({ policy: POLICY, change: copilotWithClaudeTrailer, prsToday: 7 });
    i.context.usage.prs_by_agent = { copilot: 2 };
    expect(decide(i).limits.find((l) => l.agent === "claude")).toMatchObject({ actual: 7, exceeded: true });
  });

  it("replays a stored input that predates prs_by_agent, known_agents and contributors", () => {
    const stored = JSON.parse(JSON.stringify(input({ policy: POLICY, prsToday: 6 }))) as {
      change: Record<string, unknown>;
      context: { usage: Record<string, unknown> };
    };
    delete stored.change["known_agents"];
    delete stored.change["contributors"];
    delete stored.context.usage["prs_by_agent"];
    const parsed = EvaluationInputSchema.parse(stored);
    expect(parsed.change.known_agents).toEqual([]);
    expect(parsed.change.contributors).toEqual([]);
    expect(decide(parsed).limits[0]).toMatchObject({ actual: 6, exceeded: true });
  });
});

describe("identity: recorded agents stay", () => {
  const unmarked = { author: { login: "octocat", type: "User" }, head_branch: "feature/renamed", labels: [] };

  it("keeps governing a PR whose agent signals were removed, by the recorded agent", () => {
    const d = decideCase({ policy: POLICY, change: { ...unmarked, known_agents: ["acme-bot"] } });
    expect(d.outcome).not.toBe("not_governed");
    expect(d.agent).toEqual({ name: "acme-bot", signals: [{ kind: "recorded", value: "acme-bot", matched: "acme-bot" }] });
  });

  it("applies a recorded agent's rules", () => {
    const d = decideCase({ policy: POLICY, files: ["src/billing/x.ts"], change: { ...unmarked, known_agents: ["claude"] } });
    expect(d.outcome).toBe("denied");
  });

  it("ranks a recorded signal after live ones and adds it to an agent that still matches", () => {
    const d = decideCase({ policy: POLICY, change: { known_agents: ["claude", "copilot"] } });
    expect(d.agents.map((a) => [a.name, a.signals.map((s) => s.kind)])).toEqual([
      ["copilot", ["login", "branch", "recorded"]],
      ["claude", ["recorded"]],
    ]);
  });

  it("still governs by a recorded agent the policy no longer defines", () => {
    const d = decideCase({ policy: POLICY, change: { ...unmarked, known_agents: ["retired-bot"] } });
    expect(d.outcome).toBe("allowed");
    expect(d.agent?.name).toBe("retired-bot");
  });

  it("is not governed without signals or records", () => {
    expect(decideCase({ policy: POLICY, change: unmarked, now: NOW }).outcome).toBe("not_governed");
  });
});
