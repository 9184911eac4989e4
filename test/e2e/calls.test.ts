// GitHub calls per decision, per outcome, over HTTP: the app, the server and the simulator's request log, with the
// policy at the base already read once (as it is for every PR after the first on a base commit). docs/operating.md
// lists the same calls and why each is needed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../../src/demo/stack.js";
import type { Account } from "../../src/sim/state.js";

const REPO = "acme/webapp";
const copilot: Account = { login: "Copilot", type: "Bot" };
let s: Stack;
beforeAll(async () => {
  s = await startStack();
  await routesOf(() => s.sim.openPullRequest({ repo: REPO, author: copilot, branch: "copilot/warm", files: [{ path: "docs/warm.md", content: "x\n" }] }));
});
afterAll(async () => {
  await s.close();
});

/** The routes GitHub saw from the delivery of `act`'s webhook until the worker is idle again. */
async function routesOf(act: () => { pr: { number: number }; webhook: Parameters<Stack["sim"]["send"]>[0] }): Promise<string[]> {
  const { pr, webhook } = act();
  const after = s.sim.latestCheck(REPO, pr.number)?.completedAtMs;
  const before = s.sim.requestLog().length;
  const done = s.sim.waitForCheck(REPO, pr.number, after !== undefined ? { after } : {});
  expect((await s.sim.send(webhook)).status).toBe(202);
  await done;
  await s.governor.worker.whenIdle();
  return s.sim
    .requestLog()
    .slice(before)
    .map((r) => r.route);
}

const open = (path: string, author: Account = copilot) =>
  routesOf(() =>
    s.sim.openPullRequest({ repo: REPO, author, branch: `${author.type === "Bot" ? "copilot" : "feature"}/${path}`, files: [{ path, content: "x\n" }] }),
  );

const LABEL = "POST /repos/{owner}/{repo}/issues/{issue_number}/labels";
const CREATE_CHECK = "POST /repos/{owner}/{repo}/check-runs";

describe("GitHub calls per decision, with the policy cached", () => {
  it("allowed: 3 calls (the PR's one query, its label, its check created completed)", async () => {
    expect(await open("docs/calls.md")).toEqual(["POST /graphql", LABEL, CREATE_CHECK]);
  });

  it("needs approval: 4 calls (the query, the label, the reviewer request, the check)", async () => {
    const routes = await open("db/migrations/7001.sql");
    // The label and the reviewer request go at once (either may arrive first), both before the check.
    expect([routes[0], ...routes.slice(1, 3).sort(), routes[3], routes.length]).toEqual([
      "POST /graphql",
      LABEL,
      "POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers",
      CREATE_CHECK,
      4,
    ]);
  });

  it("denied: 3 calls (the query, the label, the check)", async () => {
    expect(await open("src/billing/calls.ts")).toEqual(["POST /graphql", LABEL, CREATE_CHECK]);
  });

  it("an approving review: the query, one team membership lookup of the reviewer, the label swapped, the check", async () => {
    const { pr } = s.sim.openPullRequest({
      repo: REPO,
      author: copilot,
      branch: "copilot/approve",
      files: [{ path: "db/migrations/7002.sql", content: "x\n" }],
    });
    await routesOf(() => ({ pr, webhook: s.sim.review(REPO, pr.number, { login: "mona", type: "User" }, "COMMENTED").webhook }));
    expect(await routesOf(() => ({ pr, webhook: s.sim.review(REPO, pr.number, { login: "dana", type: "User" }, "APPROVED").webhook }))).toEqual([
      "POST /graphql",
      "GET /orgs/{org}/teams/{team_slug}/memberships/{username}",
      "DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}",
      LABEL,
      CREATE_CHECK,
    ]);
  });

  it("a human's PR, not governed: the query and the neutral check only", async () => {
    expect(await open("README.md", { login: "octocat", type: "User" })).toEqual(["POST /graphql", CREATE_CHECK]);
  });
});
