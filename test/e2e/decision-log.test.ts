// One log line per decision, at info, from the server's dispatch: what an operator greps for.
import { afterEach, expect, it } from "vitest";
import { type Stack, startStack } from "../../src/demo/stack.js";

let s: Stack | undefined;
afterEach(async () => {
  await s?.close();
});

it("logs each decision once at info with repo, PR, head, agent, outcome, rule ids and milliseconds", async () => {
  const lines: Array<{ level: string; msg: string; extra: Record<string, unknown> | undefined }> = [];
  s = await startStack({ log: (level, msg, extra) => lines.push({ level, msg, extra }) });
  const { pr, webhook } = s.sim.openPullRequest({
    repo: "acme/webapp",
    author: { login: "devin-ai-integration[bot]", type: "Bot" },
    branch: "devin/tax",
    files: [{ path: "src/billing/invoice.ts", content: "x\n", additions: 1, deletions: 0 }],
  });
  const done = s.sim.waitForCheck("acme/webapp", pr.number);
  expect((await s.sim.send(webhook)).status).toBe(202);
  await done;
  const decisions = lines.filter((l) => l.msg === "decision");
  expect(decisions).toHaveLength(1);
  expect(decisions[0]).toMatchObject({ level: "info", extra: { repo: "acme/webapp", pr: pr.number, head: pr.head.sha, agent: "devin", outcome: "denied" } });
  expect(decisions[0]?.extra?.["rules"]).toContain("repo:billing-freeze");
  expect(typeof decisions[0]?.extra?.["ms"]).toBe("number");
});
