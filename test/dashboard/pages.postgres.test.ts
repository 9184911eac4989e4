// The dashboard over PostgreSQL: the same trail written to a SQLite file and copied to PostgreSQL through the stores' own
// copy (ids and hashes kept) answers every page and API route the same on both; and `governor dashboard --db
// postgres://…` serves it from the command line.
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuditEntry, openAuditStore } from "../../src/audit/store.js";
import { startLocalDashboard } from "../../src/dashboard/standalone.js";
import { copyAuditTrail } from "../../src/store/copy.js";
import { openPostgresStores } from "../../src/store/postgres/index.js";
import { openSqliteStores } from "../../src/store/sqlite/index.js";
import { entryFor } from "../helpers/audit.js";
import { BIN, run } from "../helpers/cli.js";
import { fixturePolicy } from "../helpers/policy.js";
import { freshDatabase } from "../helpers/postgres.js";

const at = (i: number) => new Date(Date.parse("2026-11-20T00:00:00Z") + i * 3_600_000).toISOString();

/** 120 decisions over 5 days in two orgs (allowed, needs approval, denied), an observe-mode rule, and one override. */
function trailEntries(): AuditEntry[] {
  const rows: AuditEntry[] = Array.from({ length: 120 }, (_, i) => {
    const e = entryFor({ pr: i + 1, at: at(i), files: [["docs/a.md"], ["db/migrations/1.sql"], ["apps/api/src/billing/x.ts"]][i % 3]! });
    return i % 4 === 3 ? { ...e, repo: "globex/site" } : e;
  });
  const trial =
    'version: 1\nrules:\n  - id: trial\n    mode: observe\n    match: { paths: ["docs/**"] }\n    action: deny\ndefault: allow\nowners: { users: [olga] }\n';
  rows.push(entryFor({ pr: 121, at: at(121), policy: trial, files: ["docs/a.md"] }));
  const overridable = `${fixturePolicy("webapp-monorepo.yml")}\noverrides: { users: [oncall] }\n`;
  const override = { by: "oncall", reason: "tax rounding is broken, INC-88", at: at(122), head_sha: "a".repeat(40), source: "repo" as const };
  rows.push(entryFor({ pr: 3, at: at(122), policy: overridable, files: ["apps/api/src/billing/x.ts"], change: { overrides: [override] } }));
  return rows;
}

let sqliteUrl = "";
let postgresUrl = "";
let databaseUrl = "";
const running: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  const path = join(mkdtempSync(join(tmpdir(), "governor-dashboard-pg-")), "audit.db");
  const file = openAuditStore(path);
  file.recordBatch(trailEntries());
  file.close();
  databaseUrl = await freshDatabase("dashboard");
  const from = openSqliteStores(path);
  const to = openPostgresStores(databaseUrl);
  try {
    await to.migrate();
    await copyAuditTrail(from.audit, to.audit);
    // Compute minutes: the same workflow job recorded in each store.
    const job = {
      jobId: 77,
      runId: 7,
      repo: "acme/webapp",
      workflow: "Copilot coding agent",
      path: "dynamic/copilot-swe-agent/copilot",
      headBranch: "copilot/fix",
      startedAt: "2026-11-21T10:00:00Z",
      completedAt: "2026-11-21T10:12:00Z",
      deliveryId: "job-77",
    };
    await from.audit.recordWorkflowJob(job);
    await to.audit.recordWorkflowJob(job);
  } finally {
    await from.close();
    await to.close();
  }
  const s = await startLocalDashboard({ databasePath: path, port: 0, host: "127.0.0.1", env: {} });
  const p = await startLocalDashboard({ databaseUrl, port: 0, host: "127.0.0.1", env: {} });
  running.push(s, p);
  sqliteUrl = s.url;
  postgresUrl = p.url;
});

afterAll(async () => {
  for (const r of running.splice(0)) await r.close();
});

/** What a page says apart from when it was checked and how long that took. */
const settled = (text: string) =>
  text
    .replace(/"checked_at":"[^"]+","ms":\d+/g, '"checked_at":"…","ms":0')
    .replace(/Checked <time datetime="[^"]+">[^<]+<\/time> in \d+ ms/g, "Checked … in 0 ms");

async function both(path: string): Promise<{ status: number; body: string }> {
  const [s, p] = await Promise.all([fetch(`${sqliteUrl}${path}`), fetch(`${postgresUrl}${path}`)]);
  const [sb, pb] = [settled(await s.text()), settled(await p.text())];
  expect({ path, status: p.status, body: pb }).toEqual({ path, status: s.status, body: sb });
  return { status: s.status, body: sb };
}

describe("the dashboard on PostgreSQL answers as on SQLite for the same trail", () => {
  it("lists decisions page by page with the same cursors, in the API and the HTML", async () => {
    let next: string | null = "/api/decisions?limit=50";
    const ids: number[] = [];
    while (next) {
      const { status, body } = await both(next);
      expect(status).toBe(200);
      const page = JSON.parse(body) as { items: Array<{ id: number }>; next_url: string | null };
      ids.push(...page.items.map((i) => i.id));
      next = page.next_url;
    }
    expect(ids).toEqual(Array.from({ length: 122 }, (_, i) => 122 - i));
    const first = await both("/dashboard?repo=acme%2Fwebapp");
    const older = /href="(\/dashboard\?repo=acme%2Fwebapp&amp;cursor=[^"]+)" rel="next"/.exec(first.body);
    expect(older).not.toBeNull();
    expect((await both(older![1]!.replace(/&amp;/g, "&"))).status).toBe(200);
  });

  it("filters by org, repo, agent, outcome, mode and time the same way", async () => {
    const queries = [
      "org=globex",
      "org=glob",
      "repo=acme/webapp",
      "agent=copilot",
      "agent=devin",
      "outcome=denied",
      "outcome=allowed&org=acme",
      "mode=observe",
      "mode=enforce&limit=500",
      "since=2026-11-21&until=2026-11-21",
      "since=2026-11-21T06:00:00Z&until=2026-11-21T08:00:00Z",
    ];
    for (const q of queries) {
      const { status, body } = await both(`/api/decisions?limit=500&${q}`);
      expect([q, status]).toEqual([q, 200]);
      expect(JSON.parse(body)).toHaveProperty("items");
      await both(`/dashboard?${q.replace(/&limit=500/, "")}`);
    }
    const items = async (q: string) => (JSON.parse((await both(`/api/decisions?${q}`)).body) as { items: Array<{ id: number }> }).items.map((i) => i.id);
    expect(await items("org=globex&limit=500")).toHaveLength(30);
    expect(await items("mode=observe")).toEqual([121]);
  });

  it("shows one decision, a PR's history, agents, budgets and overrides the same way", async () => {
    for (const path of [
      "/api/decisions/3",
      "/dashboard/decisions/3",
      "/dashboard/decisions/122",
      "/api/prs/acme/webapp/3",
      "/dashboard/prs/acme/webapp/3",
      "/api/agents?since=2026-11-20&until=2026-11-25",
      "/dashboard/agents?since=2026-11-20&until=2026-11-25",
      "/api/agents?since=2026-11-20&until=2026-11-25&org=globex",
      "/api/budgets",
      "/dashboard/budgets?org=acme",
      "/api/overrides",
      "/dashboard/overrides",
    ])
      expect([path, (await both(path)).status]).toEqual([path, 200]);
    const overrides = JSON.parse((await both("/api/overrides")).body) as { items: Array<{ id: number; override: { by: string[] } | null }> };
    expect(overrides.items.map((i) => [i.id, i.override?.by])).toEqual([[122, ["oncall"]]]);
    const agents = JSON.parse((await both("/api/agents?since=2026-11-20&until=2026-11-25")).body) as {
      totals: Array<{ lines: number; compute_minutes: number }>;
    };
    expect(agents.totals[0]).toMatchObject({ lines: 244, compute_minutes: 12 });
  });

  it("verifies the chain and refuses what SQLite refuses, the same way", async () => {
    expect(JSON.parse((await both("/api/verify?run=1")).body)).toMatchObject({ ok: true, rows: 122, problem: null });
    await both("/dashboard/verify");
    for (const q of ["/api/decisions?cursor=bm90LWEtY3Vyc29y", "/api/decisions?outcome=maybe", "/api/decisions/999", "/dashboard/decisions/999"]) {
      const { status } = await both(q);
      expect([q, status]).toEqual([q, q.includes("999") ? 404 : 400]);
    }
  });
});

describe("the dashboard on PostgreSQL", () => {
  it("shows a row edited in PostgreSQL as a broken chain, naming the row", async () => {
    const url = await freshDatabase("dashboard_tamper");
    const stores = openPostgresStores(url);
    try {
      await stores.migrate();
      await stores.audit.append(trailEntries().slice(0, 10));
    } finally {
      await stores.close();
    }
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query("UPDATE decisions SET title = 'Allowed: nothing to see' WHERE id = 7");
    await admin.end();
    const d = await startLocalDashboard({ databaseUrl: url, port: 0, host: "127.0.0.1", env: {} });
    running.push(d);
    const page = await (await fetch(`${d.url}/dashboard/verify?run=1`)).text();
    expect(page).toContain("row 7 was edited");
    expect(await (await fetch(`${d.url}/api/verify`)).json()).toMatchObject({ ok: false, broken_id: 7 });
  });

  it("answers other requests while it verifies the chain (the store's verify awaits between pages)", async () => {
    const url = await freshDatabase("dashboard_busy");
    const stores = openPostgresStores(url);
    try {
      await stores.migrate();
      const one = entryFor({ pr: 1, files: ["docs/a.md"] });
      await stores.audit.append(Array.from({ length: 5_000 }, (_, i) => ({ ...one, recorded_at: at(i / 60) })));
    } finally {
      await stores.close();
    }
    const d = await startLocalDashboard({ databaseUrl: url, port: 0, host: "127.0.0.1", env: {} });
    running.push(d);
    const order: string[] = [];
    const verifying = fetch(`${d.url}/api/verify?run=1`).then(async (r) => {
      order.push("verify");
      return (await r.json()) as { ok: boolean; rows: number };
    });
    await new Promise((r) => setTimeout(r, 50));
    const listed = await fetch(`${d.url}/api/decisions?limit=1`);
    order.push("decisions");
    expect(listed.status).toBe(200);
    expect(await verifying).toMatchObject({ ok: true, rows: 5_000 });
    expect(order).toEqual(["decisions", "verify"]);
  });

  it("reads through a read-only connection: the server refuses a write on it", async () => {
    const { PostgresAuditSource } = await import("../../src/dashboard/postgres-source.js");
    const source = await PostgresAuditSource.open(databaseUrl);
    try {
      const pool = (source as unknown as { pool: pg.Pool }).pool;
      await expect(pool.query("DELETE FROM decisions WHERE id = 1")).rejects.toThrow("read-only transaction");
    } finally {
      await source.close();
    }
  });

  it("refuses a database Governor never migrated, saying what to run", async () => {
    const empty = await freshDatabase("dashboard_empty");
    await expect(startLocalDashboard({ databaseUrl: empty, port: 0, host: "127.0.0.1", env: {} })).rejects.toThrow("run governor migrate");
  });
});

describe("governor dashboard --db postgres://", () => {
  it("serves the decisions page of the PostgreSQL trail from the command line", async () => {
    const child = spawn(process.execPath, [BIN, "dashboard", "--db", databaseUrl, "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (c: Buffer) => {
          out += c.toString();
          if (out.includes("\n")) resolve(out);
        });
        child.once("exit", (code) => reject(new Error(`exited ${code}`)));
        setTimeout(() => reject(new Error(`no address printed: ${out}`)), 30_000);
      });
      const url = /(http:\/\/127\.0\.0\.1:\d+)\/dashboard/.exec(line)?.[1];
      expect(url).toBeDefined();
      const page = await (await fetch(`${url}/dashboard`)).text();
      expect(page).toContain("Local, read-only");
      expect(page.match(/<tr>/g)).toHaveLength(51);
      expect(page).toContain('href="/dashboard/decisions/122"');
    } finally {
      child.kill("SIGTERM");
    }
  });

  it("takes DATABASE_URL when --db is not given, and refuses a URL of another database", async () => {
    const bad = await run(["dashboard", "--db", "mysql://localhost/x", "--port", "0"], { cwd: tmpdir() });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("must be postgres:// or postgresql://");
    const none = await run(["dashboard", "--port", "0"], { cwd: tmpdir(), env: {} });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("or set DATABASE_URL");
    const empty = await run(["dashboard", "--port", "0"], { cwd: tmpdir(), env: { DATABASE_URL: await freshDatabase("dashboard_env") } });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain("run governor migrate");
  });
});
