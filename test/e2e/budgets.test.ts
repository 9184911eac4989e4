// Issue 15 over HTTP: per-agent and org-wide budgets, signed webhooks against the simulator, the real server and store.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openAuditStore } from "../../src/audit/store.js";
import { type Stack, startStack } from "../../src/demo/stack.js";
import { runBin, tempDir } from "../helpers/cli.js";
import { decisionSummary } from "../../src/report/phrases.js";
import type { StoredDecision } from "../../src/policy/decision.js";

const REPO = "acme/webapp";
const copilot = { login: "Copilot", type: "Bot" as const };
const devin = { login: "devin-ai-integration[bot]", type: "Bot" as const };
let s: Stack;
beforeEach(async () => {
  s = await startStack({ tune: { requestTimeoutMs: 2000, retryBaseMs: 50 } });
});
afterEach(async () => {
  await s.close();
});

const DOCS_ALLOWED = `classes:
  docs: ["docs/**"]
rules:
  - id: docs
    match: { classes: [docs] }
    action: allow
default: deny
`;

async function open(repo: string, author: { login: string; type: "Bot" }, branch: string) {
  const { pr, webhook } = s.sim.openPullRequest({ repo, author, branch, files: [{ path: `docs/${branch.replace("/", "-")}.md`, content: "x\n" }] });
  const done = s.sim.waitForCheck(repo, pr.number);
  expect((await s.sim.send(webhook)).status).toBe(202);
  return done;
}

describe("over HTTP: budgets per agent", () => {
  it("holds copilot to its own daily PR budget while devin, under the repo-wide one, still passes in the same repository", async () => {
    s.sim.commit(REPO, "main", {
      ".governance.yml": `version: 1\n${DOCS_ALLOWED}limits:\n  max_prs_per_day: 20\n  agents:\n    copilot: { max_prs_per_day: 1 }\n`,
    });
    expect((await open(REPO, copilot, "copilot/one")).conclusion).toBe("success");
    const second = await open(REPO, copilot, "copilot/two");
    expect(second.conclusion).toBe("failure");
    expect(second.output.title).toBe("Denied: limits.max_prs_per_day");
    // The budget table names the scope, the agent, what was used, this PR's share and the limit.
    expect(second.output.summary).toContain("| `limits.max_prs_per_day` | repo | copilot | 1 | 1 | 1 (exceeded) |");
    const other = await open(REPO, devin, "devin/one");
    expect(other.conclusion).toBe("success");
    expect(other.output.summary).toContain("| `limits.max_prs_per_day` | repo | devin | 0 | 1 | 20 |");
  });

  it("fails closed on a budget for an agent that does not exist, naming the closest one", async () => {
    s.sim.commit(REPO, "main", { ".governance.yml": `version: 1\n${DOCS_ALLOWED}limits:\n  agents:\n    copilt: { max_prs_per_day: 1 }\n` });
    const check = await open(REPO, copilot, "copilot/typo");
    expect(check.conclusion).toBe("failure");
    expect(check.output.summary).toMatch(/\.governance\.yml:11:5: limits\.agents\.copilt: unknown agent "copilt"; did you mean "copilot"\?/);
  });
});

describe("over HTTP: org-wide budgets", () => {
  it("counts an agent's PRs across the org's repositories, so the org's daily budget is reached across two of them", async () => {
    s.sim.commit("acme/.github", "main", { "governance.yml": `version: 1\n${DOCS_ALLOWED}org_limits: { max_prs_per_day: 2 }\n` });
    s.sim.commit(REPO, "main", {}, [".governance.yml"]);
    s.sim.addRepo("acme", "api", { "README.md": "api\n" });
    expect((await open(REPO, copilot, "copilot/a")).conclusion).toBe("success");
    expect((await open("acme/api", copilot, "copilot/b")).conclusion).toBe("success");
    const third = await open(REPO, copilot, "copilot/c");
    expect(third.conclusion).toBe("failure");
    expect(third.output.title).toBe("Denied: org_limits.max_prs_per_day");
    expect(third.output.summary).toContain("| `org_limits.max_prs_per_day` | org | copilot | 2 | 1 | 2 (exceeded) |");
    expect(third.output.summary).toContain("across the org's repositories");
    // Another agent has its own place in the org's budget.
    expect((await open("acme/api", devin, "devin/a")).conclusion).toBe("success");
    // /metrics: each agent's use in its busiest repository and org, labelled by agent and scope only.
    const metrics = await (await fetch(`${s.governor.url}/metrics`)).text();
    expect(metrics).toContain('governor_budget_prs_24h{agent="copilot",scope="org"} 3');
    expect(metrics).toContain('governor_budget_prs_24h{agent="copilot",scope="repo"} 2');
    expect(metrics).toContain('governor_budget_prs_24h{agent="devin",scope="org"} 1');
    // The places are in the store, and audit verify holds them to the decisions.
    await s.governor.worker.whenIdle();
    const store = openAuditStore(s.databasePath);
    try {
      expect(store.verify().broken).toBeNull();
      store.db.prepare("UPDATE agent_budget_places SET position = 1 WHERE scope = 'org:acme' AND repo = ? AND agent = 'copilot' AND position = 3").run(REPO);
      expect(store.verify().broken?.problem).toMatch(
        /decided as copilot's PR number 3 of the day across the org, but the budget reservations \(agent_budget_places\) say 1/,
      );
    } finally {
      store.close();
    }
  });

  it("fails closed on org_limits written in a repository's policy", async () => {
    s.sim.commit(REPO, "main", { ".governance.yml": `version: 1\n${DOCS_ALLOWED}org_limits: { max_prs_per_day: 100 }\n` });
    const check = await open(REPO, copilot, "copilot/sneaky");
    expect(check.conclusion).toBe("failure");
    expect(check.output.summary).toContain("org_limits is only valid in the org policy");
  });
});

describe("governor usage", () => {
  it("prints each agent's PRs and lines in the current windows against its limits, per repository and across the org, as a table and as JSON", async () => {
    s.sim.commit("acme/.github", "main", { "governance.yml": `version: 1\n${DOCS_ALLOWED}org_limits: { max_prs_per_week: 10 }\n` });
    s.sim.commit(REPO, "main", { ".governance.yml": `version: 1\n${DOCS_ALLOWED}limits:\n  agents:\n    copilot: { max_prs_per_day: 1 }\n` });
    s.sim.addRepo("acme", "api", { "README.md": "api\n" });
    await open(REPO, copilot, "copilot/u1");
    await open(REPO, copilot, "copilot/u2");
    await open("acme/api", copilot, "copilot/u3");
    await s.sim.send(s.sim.workflowJob({ repo: REPO, workflow: "Copilot cloud agent", branch: "copilot/u1", minutes: 7 }).webhook);
    await s.sim.send(s.sim.workflowJob({ repo: "acme/api", workflow: "CI", branch: "copilot/u3", minutes: 50 }).webhook);
    await s.governor.worker.whenIdle();
    const cwd = tempDir();
    const json = runBin(["usage", "--db", s.databasePath, "--org", "acme", "--json"], { cwd });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([
      { scope: "repo", name: "acme/api", agent: "copilot", prs: { day: 1, week: 1 }, lines: { day: 2, week: 2 }, compute: { day: 0, week: 0 }, limits: [] },
      {
        scope: "repo",
        name: "acme/webapp",
        agent: "copilot",
        prs: { day: 2, week: 2 },
        lines: { day: 4, week: 4 },
        compute: { day: 7, week: 7 },
        limits: [{ id: "limits.max_prs_per_day", limit: 1, used: 2, over: true }],
      },
      {
        scope: "org",
        name: "acme",
        agent: "copilot",
        prs: { day: 3, week: 3 },
        lines: { day: 6, week: 6 },
        compute: { day: 7, week: 7 },
        limits: [{ id: "org_limits.max_prs_per_week", limit: 10, used: 3, over: false }],
      },
    ]);
    const text = runBin(["usage", "--db", s.databasePath, "--repo", REPO, "--agent", "copilot"], { cwd });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /^SCOPE\s+AGENT\s+PRS 24H\s+PRS 7D\s+LINES 24H\s+LINES 7D\s+MIN 24H\s+MIN 7D\s+LIMITS \(USED\/LIMIT\)\nacme\/webapp\s+copilot\s+2\s+2\s+4\s+4\s+7\s+7\s+limits.max_prs_per_day 2\/1 \(over\)\n$/,
    );
    // A week on, nothing is in the windows.
    expect(runBin(["usage", "--db", s.databasePath, "--at", new Date(Date.now() + 8 * 86_400_000).toISOString()], { cwd }).stdout).toBe(
      "no agent PRs in the last 7 days match\n",
    );
  });
});

describe("over HTTP: compute budgets", () => {
  it("denies the agent's next PR once its Copilot workflow jobs total more than max_compute_minutes_per_day, counting a repeated job once", async () => {
    s.sim.commit(REPO, "main", { ".governance.yml": `version: 1\n${DOCS_ALLOWED}limits:\n  agents:\n    copilot: { max_compute_minutes_per_day: 30 }\n` });
    const first = await open(REPO, copilot, "copilot/c1");
    expect(first.conclusion).toBe("success");
    expect(first.output.summary).toContain("| `limits.max_compute_minutes_per_day` | repo | copilot | 0 | 0 | 30 |");
    const session = s.sim.workflowJob({ repo: REPO, workflow: "Copilot cloud agent", branch: "copilot/c1", minutes: 20 });
    // The same job delivered twice (two deliveries, one job id) is counted once.
    expect((await s.sim.send(session.webhook)).status).toBe(202);
    expect((await s.sim.send(session.webhook)).status).toBe(202);
    await s.sim.send(s.sim.workflowJob({ repo: REPO, workflow: "Copilot coding agent", branch: "copilot/c2", minutes: 15 }).webhook);
    // A workflow that is no agent's is not the agent's compute.
    await s.sim.send(s.sim.workflowJob({ repo: REPO, workflow: "CI", branch: "copilot/c1", minutes: 100, actor: { login: "octocat", type: "User" } }).webhook);
    await s.governor.worker.whenIdle();
    const next = await open(REPO, copilot, "copilot/c2");
    expect(next.conclusion).toBe("failure");
    expect(next.output.title).toBe("Denied: limits.max_compute_minutes_per_day");
    // 35 minutes: 20 + 15, of which the 15 ran on this PR's branch.
    expect(next.output.summary).toContain("| `limits.max_compute_minutes_per_day` | repo | copilot | 20 | 15 | 30 (exceeded) |");
    expect(next.output.summary).toContain("has used 35 minutes of workflow jobs in this repository in the last 24 hours (15 of them on this PR's branch)");
  });
});

describe("over HTTP: runaway agent runs", () => {
  const SESSION = (extra: string) => `version: 1\n${DOCS_ALLOWED}limits:\n  max_session_minutes: 30\n${extra}`;
  const sessionRows = () => {
    const store = openAuditStore(s.databasePath);
    try {
      return store
        .list({})
        .filter((r) => r.input_missing_reason?.startsWith("session over: "))
        .map((r) => ({ title: r.title, summary: decisionSummary(JSON.parse(r.decision) as StoredDecision), reason: r.input_missing_reason }));
    } finally {
      store.close();
    }
  };
  async function until(check: () => boolean) {
    const deadline = Date.now() + 10_000;
    while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  }

  it("cancels a Copilot session that passes max_session_minutes, as an audited decision naming the agent, run, minutes and limit", async () => {
    s.sim.commit(REPO, "main", { ".governance.yml": SESSION("  on_session_over: cancel\n") });
    const run = s.sim.workflowJob({ repo: REPO, workflow: "Copilot cloud agent", branch: "copilot/long", minutes: 31, inProgress: true });
    expect((await s.sim.send(run.webhook)).status).toBe(202);
    await s.governor.worker.whenIdle();
    await until(() => sessionRows().length > 0);
    expect(s.sim.state.cancelledRuns).toEqual([{ repo: REPO, runId: run.runId }]);
    const store = openAuditStore(s.databasePath);
    try {
      expect(store.verify().broken).toBeNull();
    } finally {
      store.close();
    }
    expect(sessionRows()).toEqual([
      {
        title: `Cancelled: copilot's run ${run.runId} over max_session_minutes (31 of 30)`,
        summary: expect.stringContaining("cancelled"),
        reason: `session over: agent copilot, run ${run.runId}, 31 minutes, limit 30: cancelled`,
      },
    ]);
  });

  it("reports instead, naming the missing actions: write permission, when GitHub refuses the cancel with 403", async () => {
    s.sim.commit(REPO, "main", { ".governance.yml": SESSION("  on_session_over: cancel\n") });
    s.sim.faults.add({ route: "/repos/{owner}/{repo}/actions/runs/{run_id}/cancel", kind: "status", status: 403 });
    const run = s.sim.workflowJob({ repo: REPO, workflow: "Copilot cloud agent", branch: "copilot/long", minutes: 40, inProgress: true });
    await s.sim.send(run.webhook);
    await s.governor.worker.whenIdle();
    await until(() => sessionRows().length > 0);
    expect(s.sim.state.cancelledRuns).toEqual([]);
    expect(sessionRows()[0]).toMatchObject({
      title: `Reported: copilot's run ${run.runId} over max_session_minutes (40 of 30)`,
      summary: expect.stringContaining("the app lacks the actions: write permission"),
    });
  });

  it("reports a finished session that took longer than max_session_minutes under the default on_session_over: report, and leaves shorter ones alone", async () => {
    s.sim.commit(REPO, "main", { ".governance.yml": SESSION("") });
    const long = s.sim.workflowJob({ repo: REPO, workflow: "Copilot cloud agent", branch: "copilot/a", minutes: 45 });
    await s.sim.send(
      s.sim.workflowJob({
        repo: REPO,
        workflow: "Copilot cloud agent",
        branch: "copilot/a",
        minutes: 45,
        inProgress: true,
        runId: long.runId,
        jobId: long.jobId,
      }).webhook,
    );
    await s.sim.send(long.webhook);
    await s.sim.send(s.sim.workflowJob({ repo: REPO, workflow: "Copilot cloud agent", branch: "copilot/b", minutes: 10 }).webhook);
    await s.governor.worker.whenIdle();
    expect(s.sim.state.cancelledRuns).toEqual([]);
    expect(sessionRows()).toEqual([
      {
        title: `Reported: copilot's run ${long.runId} over max_session_minutes (45 of 30)`,
        summary: expect.stringContaining("reported (on_session_over: report)"),
        reason: expect.stringContaining(`run ${long.runId}, 45 minutes, limit 30: reported`),
      },
    ]);
  });
});
