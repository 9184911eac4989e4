// GitHub refuses check-run text over 65,535 characters (the simulator does too): a decision whose account is longer
// is reported truncated, saying how much was left out, rather than failing to report.
import { afterEach, expect, it } from "vitest";
import { type Stack, startStack } from "../../src/demo/stack.js";
import { LIMITS } from "../../src/sim/server.js";

const REPO = "acme/webapp";
let s: Stack | undefined;
afterEach(async () => {
  await s?.close();
});

it("truncates a check summary over GitHub's 65,535-character limit, with a count of what was left out", async () => {
  s = await startStack();
  // 120 deny rules, each with a long reason and each matching one file of the PR: the summary explains every one.
  const reason = "This area is frozen while the auditors review it; ".repeat(12).trim();
  const rules = Array.from(
    { length: 120 },
    (_, i) => `  - id: freeze-${i}\n    match: { paths: ["src/area-${i}/**"] }\n    action: deny\n    reason: "${reason}"\n`,
  ).join("");
  s.sim.commit(REPO, "main", { ".governance.yml": `version: 1\nagents: { presets: all }\nrules:\n${rules}default: allow\nowners: { users: [octocat] }\n` });
  const { pr, webhook } = s.sim.openPullRequest({
    repo: REPO,
    author: { login: "Copilot", type: "Bot" },
    branch: "copilot/everywhere",
    files: Array.from({ length: 120 }, (_, i) => ({ path: `src/area-${i}/index.ts`, content: "x\n" })),
  });
  const done = s.sim.waitForCheck(REPO, pr.number);
  expect((await s.sim.send(webhook)).status).toBe(202);
  const run = await done;
  expect(run.conclusion).toBe("failure");
  const summary = run.output.summary ?? "";
  expect(summary.length).toBeLessThanOrEqual(LIMITS.checkText);
  expect(summary.length).toBeGreaterThan(LIMITS.checkText - 1000);
  const count = /… truncated: (\d+) more characters are in the audit trail/.exec(summary)?.[1];
  expect(Number(count)).toBeGreaterThan(0);
});
