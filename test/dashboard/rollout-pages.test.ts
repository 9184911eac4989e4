// The overrides page and the mode filter over rows the real app recorded: signed webhooks and a `/governance override`
// comment through the simulator to `governor serve`'s start, then the local dashboard over the same audit file.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startLocalDashboard } from "../../src/dashboard/standalone.js";
import { type Stack, startStack } from "../../src/demo/stack.js";

const REPO = "acme/webapp";
const copilot = { login: "Copilot", type: "Bot" as const };
const oncall = { login: "oncall", type: "User" as const };
const POLICY =
  'version: 1\nrules:\n  - id: billing-freeze\n    match: { paths: ["src/billing/**"] }\n    action: deny\n  - id: docs-trial\n    mode: observe\n    match: { paths: ["docs/**"] }\n    action: deny\ndefault: allow\nowners: { users: [olga] }\noverrides: { users: [oncall] }\n';

let s: Stack;
let dashboard: { url: string; close(): Promise<void> } | undefined;
beforeEach(async () => {
  s = await startStack({ tune: { requestTimeoutMs: 2000, retryBaseMs: 50 } });
  s.sim.commit(REPO, "main", { ".governance.yml": POLICY });
});
afterEach(async () => {
  await dashboard?.close();
  dashboard = undefined;
  await s.close();
});

async function deliver(webhook: Parameters<Stack["sim"]["send"]>[0]) {
  expect((await s.sim.send(webhook)).status).toBe(202);
  await s.governor.worker.whenIdle();
}
async function open(branch: string, path: string) {
  const { pr, webhook } = s.sim.openPullRequest({ repo: REPO, author: copilot, branch, files: [{ path, content: "x\n" }] });
  await deliver(webhook);
  return pr;
}
async function dashboardUrl(): Promise<string> {
  dashboard = await startLocalDashboard({ databasePath: s.databasePath, port: 0, host: "127.0.0.1", env: {} });
  return dashboard.url;
}
type Item = { id: number; pr: number; override: { by: string[]; reason: string; rules: string[]; at: string } | null };

describe("the dashboard over rows the app recorded", () => {
  it("lists a break-glass override made by comment, with who, why and the rules it lifted, and counts it and the agent's compute per agent", async () => {
    const pr = await open("copilot/hotfix", "src/billing/fix.ts");
    await open("copilot/other", "src/billing/other.ts");
    await deliver(s.sim.comment(REPO, pr.number, oncall, "/governance override payments are down, INC-4711"));
    await deliver(s.sim.workflowJob({ repo: REPO, workflow: "Copilot cloud agent", branch: "copilot/hotfix", minutes: 7 }).webhook);
    await deliver(s.sim.workflowJob({ repo: REPO, workflow: "CI", branch: "copilot/hotfix", minutes: 50, actor: oncall }).webhook);
    const url = await dashboardUrl();
    const items = ((await (await fetch(`${url}/api/overrides`)).json()) as { items: Item[] }).items;
    expect(items.map((i) => [i.pr, i.override?.by, i.override?.reason, i.override?.rules])).toEqual([
      [pr.number, ["oncall"], "payments are down, INC-4711", ["repo:billing-freeze"]],
    ]);
    const agents = (await (await fetch(`${url}/api/agents`)).json()) as { totals: Array<{ agent: string; overrides: number; compute_minutes: number }> };
    expect(agents.totals.map((t) => [t.agent, t.overrides, t.compute_minutes])).toEqual([["copilot", 1, 7]]);
    const page = await (await fetch(`${url}/dashboard/overrides`)).text();
    expect(page).not.toContain("No overrides recorded.");
    expect(page).toContain("<td>@oncall</td>");
    expect(page).toContain("<td>payments are down, INC-4711</td>");
    expect(page).toContain("<code>repo:billing-freeze</code>");
  });

  it("filters the app's decisions by mode: the observe-mode rule's PR apart from the enforced one", async () => {
    const docs = await open("copilot/docs", "docs/a.md");
    const billing = await open("copilot/bill", "src/billing/a.ts");
    const url = await dashboardUrl();
    const prs = async (mode: string) => ((await (await fetch(`${url}/api/decisions?mode=${mode}`)).json()) as { items: Item[] }).items.map((i) => i.pr);
    expect(await prs("observe")).toEqual([docs.number]);
    expect(await prs("enforce")).toEqual([billing.number]);
  });
});
