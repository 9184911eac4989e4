import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openAuditStore } from "../../src/audit/store.js";
import { type Stack, startStack } from "../../src/demo/stack.js";

const REPO = "acme/webapp";
let s: Stack;
beforeEach(async () => {
  s = await startStack({ tune: { requestTimeoutMs: 400, retryBaseMs: 50 } });
});
afterEach(async () => {
  await s.close();
});

async function open(o: Parameters<Stack["sim"]["openPullRequest"]>[0]) {
  const { pr, webhook } = s.sim.openPullRequest(o);
  const done = s.sim.waitForCheck(REPO, pr.number);
  const sent = await s.sim.send(webhook);
  expect(sent.status).toBe(202);
  return { pr, run: await done };
}

const copilot = { login: "Copilot", type: "Bot" as const };
const file = (path: string, extra: object = {}) => ({ path, content: "x\n", additions: 1, deletions: 0, ...extra });

describe("end to end over HTTP: scenarios", () => {
  it("allows an agent's docs change and labels it", async () => {
    const { pr, run } = await open({ repo: REPO, author: copilot, branch: "copilot/docs", files: [file("docs/a.md")] });
    expect(run).toMatchObject({ conclusion: "success", output: { title: "Allowed: 1 file within policy" } });
    expect(s.sim.labelsOn(REPO, pr.number)).toEqual(["governance: allowed"]);
  });

  it("asks the DBA team for a migration, then passes after their approval", async () => {
    const { pr, run } = await open({ repo: REPO, author: copilot, branch: "copilot/index", files: [file("db/migrations/0002.sql")] });
    expect(run.conclusion).toBe("action_required");
    expect(s.sim.requestedReviewers(REPO, pr.number)).toEqual({ users: [], teams: ["dba"] });
    const before = run.completedAtMs;
    const { webhook } = s.sim.review(REPO, pr.number, { login: "dana", type: "User" }, "APPROVED");
    const done = s.sim.waitForCheck(REPO, pr.number, before !== undefined ? { after: before } : {});
    await s.sim.send(webhook);
    expect((await done).conclusion).toBe("success");
    expect(s.sim.labelsOn(REPO, pr.number)).toEqual(["governance: allowed"]);
  });

  it("denies billing changes with a link to the policy line and annotations", async () => {
    const { run } = await open({
      repo: REPO,
      author: { login: "devin-ai-integration[bot]", type: "Bot" },
      branch: "devin/x",
      files: [file("src/billing/invoice.ts")],
    });
    expect(run).toMatchObject({ conclusion: "failure", output: { title: "Denied: repo:billing-freeze" } });
    expect(run.output.summary).toMatch(
      /\[acme\/webapp:\.governance\.yml line 10\]\(http:\/\/127\.0\.0\.1:\d+\/acme\/webapp\/blob\/[0-9a-f]{40}\/\.governance\.yml#L10\)/,
    );
    expect(run.output.annotations.map((a) => [a.path, a.annotation_level])).toEqual([["src/billing/invoice.ts", "failure"]]);
  });

  it("does not let an agent loosen the policy in its own PR: the base policy judges, the owners must approve", async () => {
    const { run } = await open({
      repo: REPO,
      author: copilot,
      branch: "copilot/relax",
      files: [file(".governance.yml", { content: "version: 1\ndefault: allow\n" }), file("src/billing/invoice.ts")],
    });
    expect(run.conclusion).toBe("failure"); // the base policy still freezes billing
    expect(run.output.summary).toContain("`builtin:policy-change`");
  });

  it("leaves a human PR alone with a neutral check", async () => {
    const { pr, run } = await open({ repo: REPO, author: { login: "octocat", type: "User" }, branch: "feature/x", files: [file("src/billing/invoice.ts")] });
    expect(run.conclusion).toBe("neutral");
    expect(s.sim.labelsOn(REPO, pr.number)).toEqual([]);
  });

  it("fails closed on an invalid policy committed to the base branch", async () => {
    s.sim.commit(REPO, "main", { ".governance.yml": "version: 1\nrules:\n  - id: Bad Id\n" });
    const { run } = await open({ repo: REPO, author: copilot, branch: "copilot/docs", files: [file("docs/a.md")] });
    expect(run).toMatchObject({ conclusion: "failure" });
    expect(run.output.title).toMatch(/^Invalid policy: \d+ errors?$/);
    expect(run.output.summary).toContain("`acme/webapp:.governance.yml:3:");
  });

  it("re-evaluates when the Re-run button is pressed", async () => {
    const { pr, run } = await open({ repo: REPO, author: copilot, branch: "copilot/docs", files: [file("docs/a.md")] });
    const done = s.sim.waitForCheck(REPO, pr.number, { after: run.completedAtMs ?? 0 });
    await s.sim.send(s.sim.rerun(REPO, pr.number, { login: "mia", type: "User" }));
    const again = await done;
    // GitHub does not let a completed run change its conclusion: the re-run reports on a new run, which GitHub shows.
    expect(again.id).toBeGreaterThan(run.id);
    expect(again.conclusion).toBe("success");
    expect(s.sim.state.checkRunsFor(REPO, pr.head.sha).map((r) => r.status)).toEqual(["completed", "completed"]);
  });

  it("makes only calls GitHub's OpenAPI description accepts", async () => {
    await open({ repo: REPO, author: copilot, branch: "copilot/index", files: [file("db/migrations/0002.sql")] });
    const refused = s.sim
      .requestLog()
      .filter(
        (r) =>
          r.status >= 400 && !(r.status === 404 && r.route.includes("/contents/")) && !(r.status === 422 && r.route === "POST /repos/{owner}/{repo}/labels"),
      );
    expect(refused).toEqual([]);
  });
});

describe("end to end over HTTP: deliveries", () => {
  it("rejects a forged webhook with 401 and evaluates and stores nothing", async () => {
    const { webhook } = s.sim.openPullRequest({ repo: REPO, author: copilot, branch: "copilot/docs", files: [file("docs/a.md")] });
    const sent = await s.sim.send(webhook, { secret: "wrong-secret" });
    expect(sent.status).toBe(401);
    await new Promise((r) => setTimeout(r, 100));
    expect(s.sim.requestLog().filter((r) => r.route.includes("check-runs"))).toEqual([]);
    const store = openAuditStore(s.databasePath);
    expect(store.count()).toBe(0);
    expect(await s.governor.inbox.counts()).toMatchObject({ queued: 0, done: 0, ignored: 0 });
    store.close();
  });

  it("evaluates a redelivered delivery id only once", async () => {
    const { pr, webhook } = s.sim.openPullRequest({ repo: REPO, author: copilot, branch: "copilot/docs", files: [file("docs/a.md")] });
    const done = s.sim.waitForCheck(REPO, pr.number);
    await s.sim.send(webhook, { deliveryId: "same-id" });
    await done;
    const again = await s.sim.send(webhook, { deliveryId: "same-id" });
    expect(JSON.parse(again.body)).toEqual({ delivery: "same-id", status: "duplicate" });
    await s.governor.worker.whenIdle();
    expect(s.sim.requestLog().filter((r) => r.route === "POST /repos/{owner}/{repo}/check-runs")).toHaveLength(1);
  });

  it("decides a burst of PRs with their audit rows group-committed, each row on file with its anchor when its check completes", async () => {
    const opened = Array.from({ length: 12 }, (_, i) =>
      s.sim.openPullRequest({ repo: REPO, author: copilot, branch: `copilot/burst-${i}`, files: [file(`docs/burst-${i}.md`)] }),
    );
    // As each check completes, its footer's anchor must already be in the trail (read through a connection of our own).
    const anchored = opened.map(({ pr }) =>
      s.sim.waitForCheck(REPO, pr.number, { timeoutMs: 30_000 }).then((run) => {
        const m = /governor audit verify --expect (\d+):([0-9a-f]+)/.exec(run.output?.summary ?? "");
        expect(m, `the check of #${pr.number} shows its audit anchor`).not.toBeNull();
        const anchor = { id: Number(m![1]), hash: m![2]! };
        const trail = openAuditStore(s.databasePath, { readonly: true });
        try {
          expect(trail.get(anchor.id)?.hash.startsWith(anchor.hash)).toBe(true);
        } finally {
          trail.close();
        }
        return anchor;
      }),
    );
    const sent = await Promise.all(opened.map(({ webhook }) => s.sim.send(webhook)));
    expect(sent.map((r) => r.status)).toEqual(opened.map(() => 202));
    const anchors = await Promise.all(anchored);
    await s.governor.worker.whenIdle();
    const trail = openAuditStore(s.databasePath, { readonly: true });
    const rows = trail.count();
    expect(trail.verify({ expect: anchors })).toEqual({ rows, broken: null });
    trail.close();
    // Every decision went through a group-committed transaction: as many decisions summed as rows, in at most that many commits.
    const metrics = await (await fetch(`${s.governor.url}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, "m").exec(metrics)?.[1]);
    expect(value("governor_audit_commit_decisions_sum")).toBe(rows);
    expect(value("governor_audit_commit_decisions_count")).toBeGreaterThanOrEqual(1);
    expect(value("governor_audit_commit_decisions_count")).toBeLessThanOrEqual(rows);
  });

  it("serves health and metrics", async () => {
    await open({ repo: REPO, author: copilot, branch: "copilot/docs", files: [file("docs/a.md")] });
    await s.governor.worker.whenIdle();
    expect(await (await fetch(`${s.governor.url}/healthz`)).json()).toEqual({
      status: "ok",
      database: "writable",
      store: "sqlite",
      replica: "sqlite",
      inbox_depth: 0,
    });
    const metrics = await (await fetch(`${s.governor.url}/metrics`)).text();
    expect(metrics).toContain('governor_decisions_total{outcome="allowed"} 1');
    expect(metrics).toContain('governor_deliveries_total{result="evaluated"} 1');
    expect(metrics).toContain('governor_github_request_seconds_count{route="POST /graphql",status="200"} 1');
    expect(metrics).toContain('governor_github_request_seconds_count{route="PATCH /repos/{owner}/{repo}/check-runs/{number}",status="200"} 1');
  });
});

describe("end to end over HTTP: GitHub faults", () => {
  // The PR's one GraphQL query: a call every decision makes.
  const FILES = "/graphql";

  it("retries 5xx answers and decides once GitHub recovers", async () => {
    s.sim.faults.add({ route: FILES, kind: "status", status: 502, times: 2 });
    const { run } = await open({ repo: REPO, author: copilot, branch: "copilot/docs", files: [file("docs/a.md")] });
    expect(run.conclusion).toBe("success");
  });

  it("fails closed, saying what failed, when GitHub keeps failing", async () => {
    s.sim.faults.add({ route: FILES, kind: "status", status: 500 });
    const { run } = await open({ repo: REPO, author: copilot, branch: "copilot/docs", files: [file("docs/a.md")] });
    expect(run.conclusion).toBe("failure");
    expect(run.output.title).toMatch(/^Error: could not read PR #1 of acme\/webapp \(GraphQL: GitHub answered 500\)/);
  });

  it("waits out a secondary rate limit (403 with retry-after) and then decides", async () => {
    s.sim.faults.add({ route: FILES, kind: "secondary", retryAfter: 1, times: 1 });
    const { run } = await open({ repo: REPO, author: copilot, branch: "copilot/docs", files: [file("docs/a.md")] });
    expect(run.conclusion).toBe("success");
    expect(
      s.sim
        .requestLog()
        .filter((r) => r.route === `POST ${FILES}`)
        .map((r) => r.status),
    ).toEqual([403, 200]);
  });

  it("retries a dropped connection", async () => {
    s.sim.faults.add({ route: FILES, kind: "drop", times: 1 });
    const { run } = await open({ repo: REPO, author: copilot, branch: "copilot/docs", files: [file("docs/a.md")] });
    expect(run.conclusion).toBe("success");
  });

  it("aborts a request slower than the client timeout, retries, and decides", async () => {
    s.sim.faults.add({ route: FILES, kind: "latency", latencyMs: 1500, times: 1 });
    const { run } = await open({ repo: REPO, author: copilot, branch: "copilot/docs", files: [file("docs/a.md")] });
    expect(run.conclusion).toBe("success");
  });
});
