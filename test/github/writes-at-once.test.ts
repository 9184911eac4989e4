// The writes of a decision that do not depend on each other (the outcome label, the reviewer request) go to GitHub at
// once, and the check is still created only after both answered: a completed check means everything is on the PR.
import { afterEach, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../../src/demo/stack.js";

const REPO = "acme/webapp";
const LABEL = "POST /repos/{owner}/{repo}/issues/{issue_number}/labels";
const REVIEWERS = "POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers";
const CREATE_CHECK = "POST /repos/{owner}/{repo}/check-runs";

let s: Stack | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

describe("a decision's writes on the PR", () => {
  it("sends the label and the reviewer request at once, and creates the check after both answered", async () => {
    s = await startStack();
    const sim = s.sim;
    // A first PR reads the base's policy (its check is started in progress); the one measured finds it cached.
    const warm = sim.openPullRequest({
      repo: REPO,
      author: { login: "Copilot", type: "Bot" },
      branch: "copilot/warm",
      files: [{ path: "docs/w.md", content: "x\n" }],
    });
    const warmed = sim.waitForCheck(REPO, warm.pr.number);
    await sim.send(warm.webhook);
    await warmed;
    await s.governor.worker.whenIdle();
    const before = sim.requestLog().length;
    for (const route of ["/repos/{owner}/{repo}/issues/{issue_number}/labels", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers"])
      sim.faults.add({ route, kind: "latency", latencyMs: 200 });
    const { pr, webhook } = sim.openPullRequest({
      repo: REPO,
      author: { login: "Copilot", type: "Bot" },
      branch: "copilot/at-once",
      files: [{ path: "db/migrations/8001.sql", content: "x\n" }],
    });
    const done = sim.waitForCheck(REPO, pr.number);
    expect((await sim.send(webhook)).status).toBe(202);
    await done;
    await s.governor.worker.whenIdle();
    const log = sim
      .requestLog()
      .slice(before)
      .filter((r) => [LABEL, REVIEWERS, CREATE_CHECK].includes(r.route));
    const label = log.find((r) => r.route === LABEL)!;
    const reviewers = log.find((r) => r.route === REVIEWERS)!;
    const check = log.find((r) => r.route === CREATE_CHECK)!;
    // Each waited 200 ms at GitHub; one after the other, the second would arrive after the first answered.
    expect(Math.abs(label.at - reviewers.at)).toBeLessThan(150);
    expect(check.at).toBeGreaterThanOrEqual(Math.max(label.at + label.ms, reviewers.at + reviewers.ms) - 1);
    expect(sim.labelsOn(REPO, pr.number)).toEqual(["governance: needs approval"]);
  });
});
