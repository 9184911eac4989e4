// budget_status: the MCP SDK's client spawns `governor mcp` (the real bin) pointed at a running Governor (serve's
// start against the simulator), which answers from its store through the token-guarded budget endpoint.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../../src/demo/stack.js";
import { BIN } from "../helpers/cli.js";

const REPO = "acme/webapp";
const TOKEN = "mcp-test-token-0123456789abcdef0123456789";
let s: Stack;

beforeAll(async () => {
  s = await startStack({ tune: { apiTokens: [TOKEN] } });
  // Two Copilot PRs today: 2 of the demo policy's 20 a day used, 18 left.
  for (const [branch, path, additions] of [
    ["copilot/a", "docs/a.md", 3],
    ["copilot/b", "docs/b.md", 5],
  ] as const) {
    const { webhook } = s.sim.openPullRequest({
      repo: REPO,
      author: { login: "Copilot", type: "Bot" },
      branch,
      files: [{ path, content: "x\n", additions, deletions: 0 }],
    });
    expect((await s.sim.send(webhook)).status).toBe(202);
  }
  await s.sim.send(s.sim.workflowJob({ repo: REPO, workflow: "Copilot cloud agent", branch: "copilot/a", minutes: 9 }).webhook);
  await s.governor.worker.whenIdle();
}, 60_000);

afterAll(async () => {
  await s?.close();
});

async function mcpClient(env: Record<string, string>): Promise<Client> {
  const client = new Client({ name: "governor-budget-test", version: "1.0.0" });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [BIN, "mcp", "--repo", REPO],
      cwd: mkdtempSync(join(tmpdir(), "governor-mcp-budget-")),
      env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", GITHUB_TOKEN: "", ...env },
      stderr: "pipe",
    }),
  );
  return client;
}

async function call(client: Client, args: Record<string, unknown>) {
  const result = await client.callTool({ name: "budget_status", arguments: args });
  const text = (result.content as Array<{ type: string; text: string }>)[0]?.text ?? "";
  return { isError: result.isError === true, text };
}

type Answer = {
  repo: string;
  agent: string;
  scopes: Array<{
    scope: string;
    name: string;
    prs: { day: number; week: number };
    lines: { day: number; week: number };
    compute_minutes: { day: number; week: number };
    limits: Array<{ id: string; limit: number; used: number; remaining: number; over: boolean }>;
  }>;
};

describe("budget_status through governor mcp", () => {
  it("returns the agent's remaining budget from the server's store", async () => {
    const client = await mcpClient({ GOVERNOR_URL: s.governor.url, GOVERNOR_TOKEN: TOKEN });
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain("budget_status");
      const r = await call(client, { agent: "copilot" });
      expect(r.isError).toBe(false);
      const answer = JSON.parse(r.text) as Answer;
      expect(answer).toMatchObject({ repo: REPO, agent: "copilot" });
      // The repository's own scope, then the org's (where org_limits would count; the demo policy sets none).
      expect(answer.scopes.map((x) => [x.scope, x.name])).toEqual([
        ["repo", REPO],
        ["org", "acme"],
      ]);
      const [here, org] = answer.scopes;
      expect(here).toMatchObject({ scope: "repo", name: REPO, prs: { day: 2, week: 2 }, lines: { day: 8, week: 8 }, compute_minutes: { day: 9, week: 9 } });
      expect(here!.limits).toEqual([
        { id: "limits.max_files", limit: 50, used: 1, remaining: 49, over: false },
        { id: "limits.max_lines", limit: 1000, used: 5, remaining: 995, over: false },
        { id: "limits.max_prs_per_day", limit: 20, used: 2, remaining: 18, over: false },
      ]);
      expect(org).toMatchObject({ prs: { day: 2, week: 2 }, limits: [] });
    } finally {
      await client.close();
    }
  });

  it("says so when the server refuses the token, rather than guessing a budget", async () => {
    const client = await mcpClient({ GOVERNOR_URL: s.governor.url, GOVERNOR_TOKEN: `${TOKEN}-wrong` });
    try {
      const r = await call(client, { agent: "copilot" });
      expect(r.isError).toBe(true);
      expect(r.text).toContain("refused GOVERNOR_TOKEN (401)");
    } finally {
      await client.close();
    }
  });

  it("is not offered when governor mcp is not pointed at a server", async () => {
    const client = await mcpClient({});
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).not.toContain("budget_status");
    } finally {
      await client.close();
    }
  });
});

describe("the budget endpoint", () => {
  const url = () => `${s.governor.url}/api/v1/budget?repo=${encodeURIComponent(REPO)}&agent=copilot`;

  it("refuses a request without a token, with a wrong one and with a token of another scheme (401)", async () => {
    for (const headers of [
      {} as Record<string, string>,
      { authorization: `Bearer ${TOKEN.slice(0, -1)}x` },
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: `Basic ${TOKEN}` },
    ]) {
      const res = await fetch(url(), { headers });
      expect([headers, res.status]).toEqual([headers, 401]);
      expect(await res.text()).not.toContain("limits");
    }
  });

  it("answers the right token and refuses writes and unknown parameters", async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await fetch(url(), { headers: auth })).status).toBe(200);
    expect((await fetch(url(), { method: "POST", headers: auth })).status).toBe(405);
    expect((await fetch(`${url()}&colour=red`, { headers: auth })).status).toBe(400);
    expect((await fetch(`${s.governor.url}/api/v1/budget?repo=noslash&agent=copilot`, { headers: auth })).status).toBe(400);
  });

  it("is off (404) when no GOVERNOR_API_TOKENS are configured", async () => {
    const plain = await startStack();
    try {
      expect(
        (await fetch(`${plain.governor.url}/api/v1/budget?repo=acme/webapp&agent=copilot`, { headers: { authorization: `Bearer ${TOKEN}` } })).status,
      ).toBe(404);
    } finally {
      await plain.close();
    }
  });
});
