// Issue 12, the readers: a trail the real app wrote to SQLite, moved to PostgreSQL with `governor audit copy`, reads
// the same through the real bin from either store: list, show, export (JSON lines and CSV), verify, replay, simulate
// and usage give the same output, so budgets (PRs, lines and compute minutes) are exact after the move.
import { spawnSync } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openAuditStore } from "../../src/audit/store.js";
import { budgetApi } from "../../src/dashboard/budget-api.js";
import { type Stack, startStack } from "../../src/demo/stack.js";
import { entryFor } from "../helpers/audit.js";
import { BIN, type RunResult, runBin, tempDir } from "../helpers/cli.js";
import { freshDatabase } from "../helpers/postgres.js";

const REPO = "acme/webapp";
const copilot = { login: "Copilot", type: "Bot" as const };
const devin = { login: "devin-ai-integration[bot]", type: "Bot" as const };
const DOCS_ALLOWED = `classes:
  docs: ["docs/**"]
rules:
  - id: docs
    match: { classes: [docs] }
    action: allow
default: deny
`;

let s: Stack;
let url: string;
let copied: RunResult;
const cwd = tempDir({ "stricter.yml": "version: 1\ndefault: deny\n" });
const at = new Date(Date.now() + 60 * 60 * 1000).toISOString();

async function open(repo: string, author: { login: string; type: "Bot" }, branch: string) {
  const { pr, webhook } = s.sim.openPullRequest({ repo, author, branch, files: [{ path: `docs/${branch.replace("/", "-")}.md`, content: "x\n" }] });
  const done = s.sim.waitForCheck(repo, pr.number);
  expect((await s.sim.send(webhook)).status).toBe(202);
  return done;
}

beforeAll(async () => {
  s = await startStack({ tune: { requestTimeoutMs: 2000, retryBaseMs: 50 } });
  s.sim.commit("acme/.github", "main", {
    "governance.yml": `version: 1\n${DOCS_ALLOWED}org_limits: { max_prs_per_week: 10, max_compute_minutes_per_day: 100 }\n`,
  });
  s.sim.commit(REPO, "main", { ".governance.yml": `version: 1\n${DOCS_ALLOWED}limits:\n  agents:\n    copilot: { max_prs_per_day: 1 }\n` });
  s.sim.addRepo("acme", "api", { "README.md": "api\n" });
  expect((await open(REPO, copilot, "copilot/u1")).conclusion).toBe("success");
  expect((await open(REPO, copilot, "copilot/u2")).conclusion).toBe("failure");
  await open("acme/api", copilot, "copilot/u3");
  await open(REPO, devin, "devin/d1");
  await s.sim.send(s.sim.workflowJob({ repo: REPO, workflow: "Copilot cloud agent", branch: "copilot/u1", minutes: 7 }).webhook);
  await s.sim.send(s.sim.workflowJob({ repo: "acme/api", workflow: "Copilot cloud agent", branch: "copilot/u3", minutes: 50 }).webhook);
  await s.governor.worker.whenIdle();
  await s.close();
  url = await freshDatabase("readers");
  copied = runBin(["audit", "copy", "--from", `sqlite:${s.databasePath}`, "--to", url], { cwd });
}, 120_000);

afterAll(async () => {
  await s?.close().catch(() => {});
});

/** The same command on the SQLite file and on its PostgreSQL copy. */
function both(args: string[]): { sqlite: RunResult; postgres: RunResult } {
  return { sqlite: runBin([...args, "--db", s.databasePath], { cwd }), postgres: runBin([...args, "--db", url], { cwd }) };
}

describe("a SQLite trail copied to PostgreSQL", () => {
  it("is copied with its workflow jobs, and verifies", () => {
    expect(copied.stderr).toBe("");
    expect(copied.stdout).toMatch(
      /^copied \d+ rows \(0 already there\), \d+ policy texts, 2 workflow jobs and 0 scheduled re-evaluations\ncopy verified: \d+ rows\n$/,
    );
    expect(copied.code).toBe(0);
  });

  it.each([
    ["audit list", ["audit", "list"]],
    ["audit list --json, filtered", ["audit", "list", "--json", "--agent", "copilot", "--outcome", "denied"]],
    ["audit show", ["audit", "show", "2"]],
    ["audit show --json", ["audit", "show", "1", "--json"]],
    ["audit export (JSON lines)", ["audit", "export"]],
    ["audit export --format csv", ["audit", "export", "--format", "csv"]],
    ["simulate", ["simulate", "--policy", "stricter.yml"]],
    ["simulate --json", ["simulate", "--policy", "stricter.yml", "--json"]],
    ["usage", ["usage", "--at", at]],
    ["usage --json --org", ["usage", "--json", "--org", "acme", "--at", at]],
  ])("%s prints the same from either store", (_name, args) => {
    const { sqlite, postgres } = both(args);
    expect(sqlite.code).toBe(0);
    expect(sqlite.stdout.length).toBeGreaterThan(40);
    expect(postgres).toEqual(sqlite);
  });

  it("usage counts the copied compute minutes and PRs exactly", () => {
    const { postgres } = both(["usage", "--json", "--agent", "copilot", "--at", at]);
    const rows = JSON.parse(postgres.stdout) as Array<{ scope: string; name: string; prs: { day: number }; compute: { day: number } }>;
    expect(rows.map((r) => [r.scope, r.name, r.prs.day, r.compute.day])).toEqual([
      ["repo", "acme/api", 1, 50],
      ["repo", REPO, 2, 7],
      ["org", "acme", 3, 57],
    ]);
  });

  it("verify finds the same rows and the anchor shown on GitHub in either store", () => {
    const last = openAuditStore(s.databasePath, { readonly: true });
    const head = last.list({ limit: 1 })[0]!;
    last.close();
    const { sqlite, postgres } = both(["audit", "verify", "--expect", `${head.id}:${head.hash.slice(0, 16)}`]);
    expect(sqlite.stdout).toBe(`chain intact: ${head.id} rows verified; 1 anchor from GitHub found\n`);
    expect(postgres).toEqual(sqlite);
  });

  it("replay gives the same counts from either store", () => {
    const { sqlite, postgres } = both(["audit", "replay", "--all"]);
    const untimed = (r: RunResult) => ({ ...r, stdout: r.stdout.replace(/ in [\d.]+ s\n$/, "\n") });
    expect(sqlite.stdout).toMatch(/^replayed [1-9]\d*, identical [1-9]\d*, differing 0, older evaluator 0, skipped 0 in [\d.]+ s\n$/);
    expect(untimed(postgres)).toEqual(untimed(sqlite));
  });

  it("is found through DATABASE_URL when no --db is given", () => {
    const viaEnv = runBin(["audit", "list"], { cwd, env: { DATABASE_URL: url } });
    expect(viaEnv).toEqual(runBin(["audit", "list", "--db", s.databasePath], { cwd }));
  });
});

describe("the readers on PostgreSQL", () => {
  it("say to run governor migrate on a database without a trail, and create nothing there", async () => {
    const empty = await freshDatabase("readers_empty");
    for (const args of [["audit", "verify"], ["audit", "list"], ["usage"]]) {
      const r = runBin([...args, "--db", empty], { cwd });
      expect([r.code, r.stderr]).toEqual([
        2,
        "governor: the PostgreSQL database has no Governor audit schema: run governor migrate (or governor audit copy) against it first\n",
      ]);
    }
    expect(runBin(["migrate", "--db", empty], { cwd }).stdout).toContain("audit: schema 0 -> 3");
  });

  it("refuse a DATABASE_URL that is not PostgreSQL rather than using the SQLite file", () => {
    const r = runBin(["audit", "list"], { cwd, env: { DATABASE_URL: "mysql://db/governor", DATABASE_PATH: s.databasePath } });
    expect([r.code, r.stderr.trim()]).toEqual([
      2,
      "governor: DATABASE_URL must be a postgres:// or postgresql:// URL (got mysql:…); unset it to use the SQLite file",
    ]);
    // governor migrate too (it used to migrate the SQLite file instead).
    const m = runBin(["migrate"], { cwd, env: { DATABASE_URL: "mysql://db/governor", DATABASE_PATH: s.databasePath } });
    expect([m.code, m.stderr]).toEqual([r.code, r.stderr]);
  });

  it("say which server they cannot reach, without its password", () => {
    const r = runBin(["audit", "verify", "--db", "postgres://governor:s3cret@127.0.0.1:1/governor"], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^governor: cannot read the audit trail at postgres:\/\/governor:\*\*\*@127\.0\.0\.1:1\/governor: .*ECONNREFUSED/);
    expect(r.stderr).not.toContain("s3cret");
  });

  it("export streams from PostgreSQL and ends quietly when the reader stops early (export | head)", async () => {
    const dir = tempDir();
    const store = openAuditStore(join(dir, "governor.db"));
    const small = entryFor({ files: ["docs/a.md"] });
    store.recordBatch(Array.from({ length: 3000 }, (_, i) => ({ ...small, pr: i + 1 })));
    store.close();
    const big = await freshDatabase("readers_head");
    expect(runBin(["audit", "copy", "--from", "sqlite:governor.db", "--to", big], { cwd: dir }).code).toBe(0);
    const r = spawnSync(
      "bash",
      ["-c", `set -o pipefail; "${process.execPath}" "${BIN}" audit export --db "${big}" | head -n 1; echo "governor exit \${PIPESTATUS[0]}" >&2`],
      { cwd: dir, encoding: "utf8" },
    );
    expect(r.stderr.trim()).toBe("governor exit 0");
    expect((JSON.parse(r.stdout) as { id: number }).id).toBe(1);
  });

  it("the budget endpoint for budget_status answers the same from PostgreSQL as from the SQLite file", async () => {
    const token = "readers-budget-token-0123456789abcdef0123";
    const clock = () => new Date(at);
    const ask = async (where: { databasePath: string; databaseUrl?: string }) => {
      const api = budgetApi({ tokens: [token], ...where, clock });
      const server = createServer((req, res) => void api(req, res));
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      try {
        const { port } = server.address() as AddressInfo;
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/budget?repo=${REPO}&agent=copilot`, { headers: { authorization: `Bearer ${token}` } });
        return { status: res.status, body: await res.json() };
      } finally {
        api.close();
        await new Promise((resolve) => server.close(resolve));
      }
    };
    const sqlite = await ask({ databasePath: s.databasePath });
    const postgres = await ask({ databasePath: join(cwd, "absent.db"), databaseUrl: url });
    expect(sqlite.status).toBe(200);
    expect(postgres).toEqual(sqlite);
    expect(JSON.stringify(postgres.body)).toContain('"compute_minutes"');
  });
});
