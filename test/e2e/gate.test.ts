// Issue 10 over HTTP: signed webhooks against the simulator, the real server, inbox and worker.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { generateAppKey } from "../../src/demo/app-process.js";
import { type Stack, startStack } from "../../src/demo/stack.js";
import { startGovernor } from "../../src/server/start.js";

const REPO = "acme/webapp";
const copilot = { login: "Copilot", type: "Bot" as const };
let s: Stack;
beforeEach(async () => {
  s = await startStack({ tune: { requestTimeoutMs: 2000, retryBaseMs: 50 } });
});
afterEach(async () => {
  await s.close();
});

function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), a | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const newestRun = (sha: string) =>
  s.sim.state
    .checkRunsFor(REPO, sha)
    .filter((r) => r.name === "governance")
    .sort((a, b) => b.id - a.id)[0];

describe("over HTTP: one commit, several PRs", () => {
  it("shows the strictest decision when the same head is proposed into a laxer and a stricter base at once, under GitHub latency", async () => {
    // The release branch's policy denies everything; main's allows docs.
    s.sim.commit(REPO, "release", { ".governance.yml": "version: 1\ndefault: deny\n" });
    const random = rng(7);
    for (let round = 0; round < 8; round++) {
      const { pr, webhook: first } = s.sim.openPullRequest({
        repo: REPO,
        author: copilot,
        branch: `copilot/docs-${round}`,
        files: [{ path: `docs/r${round}.md`, content: "x\n" }],
      });
      const strict = s.sim.proposeAgain(REPO, pr.number, "release");
      for (let i = 0; i < 6; i++)
        s.sim.faults.add({ route: "/repos/{owner}/{repo}/pulls/{pull_number}/files", kind: "latency", latencyMs: Math.floor(random() * 150), times: 1 });
      for (let i = 0; i < 4; i++)
        s.sim.faults.add({ route: "/repos/{owner}/{repo}/contents/{path}", kind: "latency", latencyMs: Math.floor(random() * 80), times: 1 });
      const order = random() < 0.5 ? [first, strict.webhook] : [strict.webhook, first];
      await Promise.all(order.map((w) => s.sim.send(w)));
      await s.governor.worker.whenIdle();
      s.sim.faults.clear();
      expect(newestRun(pr.head.sha), `round ${round}`).toMatchObject({ status: "completed", conclusion: "failure" });
    }
  });
});

describe("over HTTP: merge queues", () => {
  const devin = { login: "devin-ai-integration[bot]", type: "Bot" as const };
  async function openAndWait(o: Parameters<Stack["sim"]["openPullRequest"]>[0]) {
    const { pr, webhook } = s.sim.openPullRequest(o);
    await s.sim.send(webhook);
    await s.governor.worker.whenIdle();
    return pr;
  }

  it("puts a governance check on each merge group's commit with the strictest decision of the PRs in it, those ahead included", async () => {
    const allowed = await openAndWait({ repo: REPO, author: copilot, branch: "copilot/docs", files: [{ path: "docs/q.md", content: "x\n" }] });
    const denied = await openAndWait({ repo: REPO, author: devin, branch: "devin/bill", files: [{ path: "src/billing/q.ts", content: "x\n" }] });
    const alone = s.sim.enqueue(REPO, [allowed.number]);
    // A second queue on a new base: the denied PR first, the allowed one behind it (its group holds both).
    s.sim.commit(REPO, "main", { "docs/other.md": "z\n" });
    const groups = [...alone, ...s.sim.enqueue(REPO, [denied.number, allowed.number])];
    const shown: Array<string | null | undefined> = [];
    for (const group of groups) {
      expect((await s.sim.send(group.webhook)).status).toBe(202);
      await s.governor.worker.whenIdle();
      shown.push(newestRun(group.headSha)?.conclusion);
    }
    // Alone, the allowed PR's group passes; behind the denied PR, whose changes its group holds, it fails.
    expect(shown).toEqual(["success", "failure", "failure"]);
    expect(newestRun(groups[2]!.headSha)?.output.summary).toContain(`merge queue group of #${allowed.number}`);
    expect(newestRun(groups[2]!.headSha)?.output.summary).toContain(`#${denied.number} (audit row`);
    expect(newestRun(groups[2]!.headSha)?.output.summary).toMatch(/governor audit verify --expect \d+:[0-9a-f]{16}/);
  });

  it("fails a merge group closed when the queued PR's head is not the one its queue branch names", async () => {
    const allowed = await openAndWait({ repo: REPO, author: copilot, branch: "copilot/docs2", files: [{ path: "docs/q2.md", content: "x\n" }] });
    const [group] = s.sim.enqueue(REPO, [allowed.number]);
    s.sim.push(REPO, allowed.number, [{ path: "docs/q3.md", content: "y\n" }]);
    await s.sim.send(group!.webhook);
    await s.governor.worker.whenIdle();
    expect(newestRun(group!.headSha)).toMatchObject({
      conclusion: "failure",
      output: { title: expect.stringContaining(`PR #${allowed.number} was queued at`) },
    });
  });
});

describe("over HTTP: time windows take effect on time", () => {
  it("evaluates an open agent PR again when a freeze starts, without any event, and the PR that was green turns red", async () => {
    await s.close();
    let now = new Date("2026-12-24T23:59:00Z");
    s = await startStack({ tune: { requestTimeoutMs: 2000, retryBaseMs: 50, reevaluateEveryMs: 50, clock: () => now } });
    s.sim.commit(REPO, "main", {
      ".governance.yml": `version: 1
classes:
  docs: ["docs/**"]
rules:
  - id: holiday-freeze
    match: { classes: [docs] }
    action: deny
    reason: "Frozen over the holidays."
    active: { from: "2026-12-25T00:00:00Z" }
  - id: docs
    match: { classes: [docs] }
    action: allow
default: deny
`,
    });
    const { pr, webhook } = s.sim.openPullRequest({ repo: REPO, author: copilot, branch: "copilot/late", files: [{ path: "docs/late.md", content: "x\n" }] });
    await s.sim.send(webhook);
    await s.governor.worker.whenIdle();
    const green = newestRun(pr.head.sha);
    expect(green?.conclusion).toBe("success");
    // Midnight passes; no webhook is sent.
    now = new Date("2026-12-25T00:00:01Z");
    const deadline = Date.now() + 10_000;
    while (newestRun(pr.head.sha)?.id === green?.id && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await s.governor.worker.whenIdle();
    expect(newestRun(pr.head.sha)).toMatchObject({ conclusion: "failure", output: { title: "Denied: repo:holiday-freeze" } });
  });
});

describe("over HTTP: the time-window schedule survives a restart", () => {
  it("evaluates the PR again after a restart when its window changed while Governor was down", async () => {
    await s.close();
    let now = new Date("2026-12-24T23:59:00Z");
    s = await startStack({ tune: { requestTimeoutMs: 2000, retryBaseMs: 50, reevaluateEveryMs: 50, clock: () => now } });
    s.sim.commit(REPO, "main", {
      ".governance.yml":
        'version: 1\nclasses:\n  docs: ["docs/**"]\nrules:\n  - id: freeze\n    match: { classes: [docs] }\n    action: deny\n    active: { from: "2026-12-25T00:00:00Z" }\n  - id: docs\n    match: { classes: [docs] }\n    action: allow\ndefault: deny\n',
    });
    const { pr, webhook } = s.sim.openPullRequest({ repo: REPO, author: copilot, branch: "copilot/restart", files: [{ path: "docs/r.md", content: "x\n" }] });
    await s.sim.send(webhook);
    await s.governor.worker.whenIdle();
    expect(newestRun(pr.head.sha)?.conclusion).toBe("success");
    await s.governor.close();
    now = new Date("2026-12-25T08:00:00Z");
    const again = await startGovernor(
      {
        appId: s.sim.state.app.id,
        privateKey: generateAppKey(),
        secret: s.secret,
        webhookPath: "/api/github/webhooks",
        baseUrl: s.sim.apiUrl,
        logLevel: "fatal",
        databasePath: s.databasePath,
        port: 0,
        host: "127.0.0.1",
        concurrency: 4,
        perInstallation: 4,
        requestTimeoutMs: 2000,
        retryBaseMs: 50,
        reevaluateEveryMs: 50,
        clock: () => now,
      },
      () => undefined,
    );
    try {
      const deadline = Date.now() + 10_000;
      while (newestRun(pr.head.sha)?.conclusion !== "failure" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(newestRun(pr.head.sha)).toMatchObject({ conclusion: "failure", output: { title: "Denied: repo:freeze" } });
    } finally {
      await again.worker.whenIdle();
      await again.close();
    }
  });
});
