// `governor mcp` driven by the MCP SDK's own client over stdio: the real bin, spawned in a real git repository.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN } from "../helpers/cli.js";
import { fixturePolicy } from "../helpers/policy.js";
import { gitRepo } from "../cli/check-repo.js";

const WEBAPP = fixturePolicy("webapp-monorepo.yml");
let client: Client;
let repo: ReturnType<typeof gitRepo>;

async function call(name: string, args: Record<string, unknown>) {
  const result = await client.callTool({ name, arguments: args });
  const text = (result.content as Array<{ type: string; text: string }>)[0]?.text ?? "";
  return { isError: result.isError === true, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

beforeAll(async () => {
  // The base allows billing to nobody; the agent's branch rewrote its own policy to allow it: the base must win.
  repo = gitRepo({ ".governance.yml": WEBAPP, "README.md": "hi\n" });
  repo.git("checkout", "-qb", "claude/work");
  repo.commit("loosen", { ".governance.yml": WEBAPP.replace('action: deny\n    reason: "Billing', 'action: allow\n    reason: "Billing') });
  client = new Client({ name: "governor-test", version: "1.0.0" });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [BIN, "mcp", "--base", "main"],
      cwd: repo.dir,
      env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", GITHUB_TOKEN: "" },
      stderr: "pipe",
    }),
  );
}, 60_000);

afterAll(async () => {
  await client?.close();
});

describe("governor mcp", () => {
  it("lists check_change, explain_paths and policy_summary with zod-made input schemas", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["check_change", "explain_paths", "policy_summary"]);
    const check = tools.find((t) => t.name === "check_change")!;
    expect(check.inputSchema.required).toEqual(["agent"]);
    expect(Object.keys(check.inputSchema.properties ?? {})).toEqual(["agent", "paths", "diff", "branch", "labels"]);
    expect(check.description).toContain("before you spend effort");
  });

  it("check_change denies paths by the base's policy and says, per path, the rule, reason and escalation", async () => {
    const r = await call("check_change", { agent: "claude", paths: ["apps/api/src/billing/charge.ts", "docs/intro.md"] });
    expect(r.isError).toBe(false);
    const out = r.json();
    expect(out["outcome"]).toBe("denied");
    expect(out["blocked"]).toEqual([
      {
        path: "apps/api/src/billing/charge.ts",
        rule: "repo:billing-freeze",
        action: "deny",
        reason: "Billing is frozen until the compliance audit.",
        escalate: "Ask @acme/billing-leads in #billing",
        policy: ".governance.yml:21",
      },
    ]);
  });

  it("check_change reads a unified diff, judging a rename by its old path too", async () => {
    const diff = [
      "diff --git a/apps/api/src/auth/login.ts b/docs/login.ts",
      "similarity index 90%",
      "rename from apps/api/src/auth/login.ts",
      "rename to docs/login.ts",
      "--- a/apps/api/src/auth/login.ts",
      "+++ b/docs/login.ts",
      "@@ -1,2 +1,2 @@",
      " keep",
      "-old",
      "+new",
      "diff --git a/db/migrations/1.sql b/db/migrations/1.sql",
      "new file mode 100644",
      "--- /dev/null",
      "+++ b/db/migrations/1.sql",
      "@@ -0,0 +1,2 @@",
      "+-- a comment",
      "+create table t();",
      "",
    ].join("\n");
    const out = (await call("check_change", { agent: "claude", diff })).json();
    expect(out["outcome"]).toBe("needs_approval");
    expect((out["blocked"] as Array<{ path: string; rule: string }>).map((b) => `${b.rule} ${b.path}`)).toEqual([
      "repo:auth-needs-security apps/api/src/auth/login.ts",
      "repo:api-needs-maintainer apps/api/src/auth/login.ts",
      "repo:migrations-need-dba db/migrations/1.sql",
    ]);
    expect((out["caveats"] as Array<{ id: string }>).map((c) => c.id)).toContain("reviews");
  });

  it("check_change reads real git diff output with quoted paths, deletions and renames", async () => {
    const other = gitRepo({ "apps/api/src/billing/old ü.ts": "x\n".repeat(30), "apps/api/src/billing/gone.ts": "g\n" });
    other.commit("change", {
      "apps/api/src/billing/old ü.ts": null,
      "docs/new ü.ts": "x\n".repeat(30),
      "apps/api/src/billing/gone.ts": null,
      "apps/api/src/billing/tab\there.ts": "t\n",
    });
    const diff = other.git("diff", "-M", "HEAD~1", "HEAD");
    expect(diff).toContain('rename from "apps/api/src/billing/old \\303\\274.ts"');
    const out = (await call("check_change", { agent: "claude", diff })).json();
    expect((out["blocked"] as Array<{ path: string; rule: string }>).filter((b) => b.rule === "repo:billing-freeze").map((b) => b.path)).toEqual([
      "apps/api/src/billing/gone.ts",
      "apps/api/src/billing/old ü.ts",
      "apps/api/src/billing/tab\there.ts",
    ]);
  });

  it("check_change refuses an unknown agent as a tool error with a suggestion", async () => {
    const r = await call("check_change", { agent: "claud", paths: ["docs/a.md"] });
    expect(r.isError).toBe(true);
    expect(r.text).toContain('unknown agent "claud"; did you mean "claude"?');
  });

  it("explain_paths gives the classes, rules and verdict of each path for the agent", async () => {
    const out = (await call("explain_paths", { paths: ["apps/api/src/auth/README.md"], agent: "claude" })).json();
    const [path] = out["paths"] as Array<{ classes: Array<{ name: string }>; rules: Array<{ id: string }>; verdicts: unknown[] }>;
    expect(path!.classes.map((c) => c.name).sort()).toEqual(["api", "docs"]);
    expect(path!.rules.map((r) => r.id)).toEqual(["repo:api-needs-maintainer", "repo:tests-docs-ui"]);
    expect(path!.verdicts).toEqual([{ agents: ["claude"], action: "require_approval", rules: ["repo:api-needs-maintainer"] }]);
  });

  it("policy_summary says what the agent may change freely, what needs approval, what it may not touch, and its limits", async () => {
    type Rules = Array<{ rule: string; paths: string[]; approvers?: string }>;
    const out = (await call("policy_summary", { agent: "claude" })).json() as {
      may_change_freely: Rules;
      needs_approval: Rules;
      may_not_touch: Rules;
      limits: Record<string, unknown>;
      uncovered_paths: Array<{ source: string; action: string }>;
    };
    expect(out.may_change_freely.map((r) => r.rule)).toEqual(["repo:tests-docs-ui"]);
    expect(out.may_change_freely[0]!.paths).toContain("docs/**");
    expect(out.needs_approval.map((r) => `${r.rule}: ${r.approvers}`)).toEqual([
      "repo:auth-needs-security: 2 of @acme/security",
      "repo:migrations-need-dba: 1 of @acme/dba",
      "repo:api-needs-maintainer: 1 of @acme/maintainers",
    ]);
    expect(out.may_not_touch.map((r) => r.rule)).toEqual(["repo:billing-freeze", "repo:no-agent-ci-changes"]);
    expect(out.uncovered_paths.map((d) => d.action)).toEqual(["require_approval"]);
    expect(out.limits).toEqual({
      max_files_per_pr: { value: 50, policy: ".governance.yml:49" },
      max_lines_per_pr: { value: 1000, policy: ".governance.yml:50" },
      max_prs_per_day: { value: 20, policy: ".governance.yml:51" },
      when_exceeded: "deny",
    });
  });
});
