// Issue 10 over HTTP: signed webhooks against the simulator, the real server, inbox and worker.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../../src/demo/stack.js";

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

const newestRun = (sha: string) => s.sim.state.checkRunsFor(REPO, sha).filter((r) => r.name === "governance").sort((a, b) => b.id - a.id)[0];

describe("over HTTP: one commit, several PRs", () => {
  it("shows the strictest decision when the same head is proposed into a laxer and a stricter base at once, under GitHub latency", async () => {
    // The release branch's policy denies everything; main's allows docs.
    s.sim.commit(REPO, "release", { ".governance.yml": "version: 1\ndefault: deny\n" });
    const random = rng(7);
    for (let round = 0; round < 8; round++) {
      const { pr, webhook: first } = s.sim.openPullRequest({ repo: REPO, author: copilot, branch: `copilot/docs-${round}`, files: [{ path: `docs/r${round}.md`, content: "x\n" }] });
      const strict = s.sim.proposeAgain(REPO, pr.number, "release");
      for (let i = 0; i < 6; i++) s.sim.faults.add({ route: "/repos/{owner}/{repo}/pulls/{pull_number}/files", kind: "latency", latencyMs: Math.floor(random() * 150), times: 1 });
      for (let i = 0; i < 4; i++) s.sim.faults.add({ route: "/repos/{owner}/{repo}/contents/{path}", kind: "latency", latencyMs: Math.floor(random() * 80), times: 1 });
      const order = random() < 0.5 ? [first, strict.webhook] : [strict.webhook, first];
      await Promise.all(order.map((w) => s.sim.send(w)));
      await s.governor.worker.whenIdle();
      s.sim.faults.clear();
      expect(newestRun(pr.head.sha), `round ${round}`).toMatchObject({ status: "completed", conclusion: "failure" });
    }
  });
});
