// The dashboard's pages and API over a real audit file (real inputs, the real evaluator), through the local dashboard of
// `governor dashboard` and through the command itself.
import { spawn } from "node:child_process";
import { request } from "node:http";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { type AuditEntry, openAuditStore } from "../../src/audit/store.js";
import { startLocalDashboard } from "../../src/dashboard/standalone.js";
import { decide } from "../../src/policy/decide.js";
import { entryFor } from "../helpers/audit.js";
import { BIN, run } from "../helpers/cli.js";
import { input } from "../helpers/policy.js";

const running: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.close();
});

function trail(entries: AuditEntry[]): string {
  const path = join(mkdtempSync(join(tmpdir(), "governor-dashboard-pages-")), "audit.db");
  const store = openAuditStore(path);
  store.recordBatch(entries);
  store.close();
  return path;
}

async function serve(path: string): Promise<string> {
  const d = await startLocalDashboard({ databasePath: path, port: 0, host: "127.0.0.1", env: {} });
  running.push(d);
  return d.url;
}

const at = (i: number) => new Date(Date.parse("2026-11-20T00:00:00Z") + i * 3_600_000).toISOString();

/** 120 decisions over 5 days: docs (allowed), migrations (needs approval), billing (denied); two orgs. */
function many(): AuditEntry[] {
  return Array.from({ length: 120 }, (_, i) => {
    const e = entryFor({ pr: i + 1, at: at(i), files: [["docs/a.md"], ["db/migrations/1.sql"], ["apps/api/src/billing/x.ts"]][i % 3]! });
    return i % 4 === 3 ? { ...e, repo: "globex/site" } : e;
  });
}

async function json<T>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as T };
}

type Item = { id: number; repo: string; outcome: string; agent: string | null; recorded_at: string; anchor: string };

describe("the dashboard's decisions and API", () => {
  it("pages newest first with cursors: every row once, none left out", async () => {
    const url = await serve(trail(many()));
    const seen: number[] = [];
    let next: string | null = "/api/decisions?limit=50";
    type Body = { items: Item[]; next_url: string | null };
    let pages = 0;
    while (next) {
      const { status, body }: { status: number; body: Body } = await json<Body>(`${url}${next}`);
      expect(status).toBe(200);
      seen.push(...body.items.map((i) => i.id));
      next = body.next_url;
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 120 }, (_, i) => 120 - i));
  });

  it("links the HTML pages the same way, with the filters kept on the next page", async () => {
    const url = await serve(trail(many()));
    const first = await (await fetch(`${url}/dashboard?repo=acme%2Fwebapp`)).text();
    expect(first.match(/<td>acme\/webapp<\/td>/g)).toHaveLength(50);
    const older = /href="(\/dashboard\?repo=acme%2Fwebapp&amp;cursor=[^"]+)" rel="next"/.exec(first);
    expect(older).not.toBeNull();
    const second = await (await fetch(`${url}${older![1]!.replace(/&amp;/g, "&")}`)).text();
    expect(second.match(/<td>acme\/webapp<\/td>/g)).toHaveLength(40);
    expect(second).not.toContain("globex/site");
    expect(second).toContain("End of the trail.");
  });

  it("filters by org, repo, agent, outcome and time in the API", async () => {
    const url = await serve(trail(many()));
    const get = async (q: string) => (await json<{ items: Item[] }>(`${url}/api/decisions?limit=500&${q}`)).body.items;
    expect((await get("org=globex")).every((i) => i.repo === "globex/site")).toBe(true);
    expect(await get("org=globex")).toHaveLength(30);
    expect(await get("org=glob")).toHaveLength(0);
    expect(await get("repo=acme/webapp")).toHaveLength(90);
    expect((await get("outcome=denied")).map((i) => i.outcome)).toEqual(Array(40).fill("denied"));
    expect(await get("agent=copilot")).toHaveLength(120);
    expect(await get("agent=devin")).toHaveLength(0);
    const day = await get("since=2026-11-21&until=2026-11-21");
    expect(day.map((i) => i.recorded_at.slice(0, 10))).toEqual(Array(24).fill("2026-11-21"));
    expect(await get("since=2026-11-21T06:00:00Z&until=2026-11-21T08:00:00Z")).toHaveLength(2);
  });

  it("refuses unknown parameters, bad values and foreign cursors with 400", async () => {
    const url = await serve(trail(many()));
    for (const q of ["outcome=maybe", "colour=red", "since=yesterday", "limit=0", "limit=501", "cursor=bm90LWEtY3Vyc29y", "repo=noslash", "org=a/b"]) {
      const { status, body } = await json<{ error: string }>(`${url}/api/decisions?${q}`);
      expect([q, status]).toEqual([q, 400]);
      expect(body.error.length).toBeGreaterThan(5);
    }
    expect((await fetch(`${url}/dashboard?outcome=maybe`)).status).toBe(400);
  });

  it("is read-only: other methods than GET are refused", async () => {
    const url = await serve(trail(many()));
    expect((await fetch(`${url}/api/decisions`, { method: "POST", body: "{}" })).status).toBe(405);
    expect((await fetch(`${url}/dashboard`, { method: "DELETE" })).status).toBe(405);
  });

  it("shows one decision's JSON with its anchor and an identical replay", async () => {
    const url = await serve(trail(many()));
    const { status, body } = await json<{
      id: number;
      anchor: string;
      hash: string;
      decision: { outcome: string };
      input: unknown;
      replay: { status: string };
    }>(`${url}/api/decisions/3`);
    expect(status).toBe(200);
    expect(body.anchor).toBe(`3:${body.hash.slice(0, 16)}`);
    expect(body.decision.outcome).toBe("denied");
    expect(body.input).not.toBeNull();
    expect(body.replay).toEqual({ status: "identical" });
    expect((await fetch(`${url}/api/decisions/999`)).status).toBe(404);
  });

  it("says when a stored decision does not follow from its input", async () => {
    const honest = entryFor({ pr: 1, files: ["apps/api/src/billing/x.ts"] });
    const lied = { ...honest, outcome: "allowed" as const, decision: { ...honest.decision, outcome: "allowed" as const } };
    const url = await serve(trail([lied]));
    const page = await (await fetch(`${url}/dashboard/decisions/1`)).text();
    expect(page).toContain("replays differently</span> (fields: outcome)");
    expect(page).toContain("same evaluator version");
  });

  it("shows a broken chain on the verification page and in the API, with the row at fault", async () => {
    const path = trail(many());
    const db = new Database(path);
    db.prepare("UPDATE decisions SET title = 'Allowed: nothing to see' WHERE id = 7").run();
    db.close();
    const url = await serve(path);
    const page = await (await fetch(`${url}/dashboard/verify`)).text();
    expect(page).toContain("Broken:");
    expect(page).toContain("row 7 was edited");
    expect((await json<{ ok: boolean; broken_id: number }>(`${url}/api/verify`)).body).toMatchObject({ ok: false, broken_id: 7 });
  });

  it("answers other requests while it verifies the chain (verification runs off the event loop)", async () => {
    // 5,000 rows (one real decision, recorded again and again): verification reads and hashes each, about half a second
    // here, long enough for a request to arrive meanwhile.
    const one = entryFor({ pr: 1, files: ["docs/a.md"] });
    const rows = Array.from({ length: 5_000 }, (_, i) => ({ ...one, recorded_at: at(i / 60) }));
    const url = await serve(trail(rows));
    const order: string[] = [];
    const verifying = fetch(`${url}/api/verify?run=1`).then(async (r) => {
      order.push("verify");
      return (await r.json()) as { ok: boolean; rows: number };
    });
    await new Promise((r) => setTimeout(r, 50));
    const listed = await fetch(`${url}/api/decisions?limit=1`);
    order.push("decisions");
    expect(listed.status).toBe(200);
    expect(await verifying).toMatchObject({ ok: true, rows: 5_000 });
    expect(order).toEqual(["decisions", "verify"]);
  });

  it("reports an intact chain with its row count", async () => {
    const url = await serve(trail(many()));
    expect((await json(`${url}/api/verify`)).body).toMatchObject({ ok: true, rows: 120, problem: null });
  });

  it("sums agents per day and budgets from the latest decisions' limits", async () => {
    const url = await serve(trail(many()));
    const agents = (
      await json<{ totals: Array<{ agent: string; allowed: number; needs_approval: number; denied: number; lines: number }>; days: unknown[] }>(
        `${url}/api/agents?since=2026-11-20&until=2026-11-24`,
      )
    ).body;
    expect(agents.totals).toEqual([
      { agent: "copilot", prs: 120, lines: 240, allowed: 40, needs_approval: 40, denied: 40, error: 0, overrides: 0, compute_minutes: 0 },
    ]);
    expect(agents.days).toHaveLength(5);
    const budgets = (await json<{ lines: Array<{ repo: string; id: string; limit: number; actual: number; decision_id: number }> }>(`${url}/api/budgets`)).body
      .lines;
    expect(budgets.map((l) => [l.repo, l.id, l.decision_id])).toEqual([
      ["acme/webapp", "limits.max_files", 119],
      ["acme/webapp", "limits.max_lines", 119],
      ["acme/webapp", "limits.max_prs_per_day", 119],
      ["globex/site", "limits.max_files", 120],
      ["globex/site", "limits.max_lines", 120],
      ["globex/site", "limits.max_prs_per_day", 120],
    ]);
  });

  it("shows an empty overrides page when nothing was overridden", async () => {
    const url = await serve(trail(many()));
    const page = await (await fetch(`${url}/dashboard/overrides`)).text();
    expect(page).toContain("No overrides recorded.");
    expect((await json<{ items: unknown[] }>(`${url}/api/overrides`)).body.items).toEqual([]);
  });

  it("does not take a rule merely named override… for an override", async () => {
    const e = entryFor({ pr: 5, files: ["apps/api/src/billing/x.ts"] });
    const rule = { ...e.decision.rules[0]!, id: "override:by-olga", action: "allow" as const };
    const url = await serve(trail([entryFor({ pr: 4 }), { ...e, decision: { ...e.decision, rules: [...e.decision.rules, rule] } }]));
    expect((await json<{ items: Item[] }>(`${url}/api/overrides`)).body.items).toEqual([]);
  });

  it("filters by mode: observe lists decisions where an observe-mode rule applied, enforce the others", async () => {
    const trial =
      'version: 1\nrules:\n  - id: trial\n    mode: observe\n    match: { paths: ["docs/**"] }\n    action: deny\ndefault: allow\nowners: { users: [olga] }\n';
    const observed = entryFor({ pr: 2, policy: trial, files: ["docs/a.md"] });
    expect(observed.decision.rules.filter((r) => r.mode === "observe").map((r) => r.id)).toEqual(["repo:trial"]);
    const url = await serve(trail([entryFor({ pr: 1, files: ["docs/a.md"] }), observed, entryFor({ pr: 3, policy: trial, files: ["src/a.ts"] })]));
    const ids = async (q: string) => (await json<{ items: Item[] }>(`${url}/api/decisions?${q}`)).body.items.map((i) => i.id);
    expect(await ids("mode=observe")).toEqual([2]);
    expect(await ids("mode=enforce")).toEqual([3, 1]);
    expect(await ids("mode=")).toEqual([3, 2, 1]);
    expect((await json<{ error: string }>(`${url}/api/decisions?mode=shadow`)).status).toBe(400);
    const page = await (await fetch(`${url}/dashboard?mode=observe`)).text();
    expect(page.match(/<td><a href="\/dashboard\/decisions\/(\d+)">/g)).toEqual(['<td><a href="/dashboard/decisions/2">']);
    expect(page).toContain('<option value="observe"  selected>');
  });
});

describe("escaping", () => {
  const HOSTILE_REPO = { owner: "acme", name: `x"><script>alert(1)</script>` };
  const POLICY = `version: 1
agents: { presets: all }
rules:
  - id: evil
    match: { paths: ["**"] }
    action: deny
    reason: "<img src=x onerror=alert(2)>"
    escalate: "</script><script>alert(3)</script>"
default: deny
limits: { max_files: 50 }
`;
  function hostile(): AuditEntry {
    const i = input({ policy: POLICY, files: ["<svg onload=alert(4)>.ts"], change: { repo: HOSTILE_REPO, number: 1 } });
    const decision = decide(i);
    expect(decision.outcome).toBe("denied");
    return {
      recorded_at: i.context.now,
      delivery_id: "<b>d</b>",
      installation_id: 1,
      repo: `${HOSTILE_REPO.owner}/${HOSTILE_REPO.name}`,
      pr: 1,
      head_sha: i.change.head_sha,
      base_sha: i.change.base_sha,
      agent: "</script><script>alert(5)</script>",
      outcome: decision.outcome,
      decision,
      input: i,
    };
  }

  it("shows hostile repository names, reasons, files and agents as text on every page", async () => {
    const url = await serve(trail([hostile()]));
    const repoPath = `/dashboard/prs/acme/${encodeURIComponent(HOSTILE_REPO.name)}/1`;
    for (const path of ["/dashboard", "/dashboard/decisions/1", repoPath, "/dashboard/agents?since=2026-11-01&until=2026-11-30", "/dashboard/budgets"]) {
      const res = await fetch(`${url}${path}`);
      const page = await res.text();
      expect([path, res.status]).toEqual([path, 200]);
      expect(page).not.toMatch(/<script>alert|<img src=x|<svg onload|<b>d<\/b>/);
      expect(page.match(/<script/g)?.length ?? 0).toBe(path.startsWith("/dashboard/agents") ? 3 : 0);
    }
    const one = await (await fetch(`${url}/dashboard/decisions/1`)).text();
    expect(one).toContain("&lt;img src=x onerror=alert(2)&gt;");
    expect(one).toContain("&lt;svg onload=alert(4)&gt;.ts");
    const agents = await (await fetch(`${url}/dashboard/agents?since=2026-11-01&until=2026-11-30`)).text();
    expect(agents).toContain("\\u003c/script\\u003e\\u003cscript\\u003ealert(5)");
  });

  it("sends a Content-Security-Policy that allows only its own scripts", async () => {
    const url = await serve(trail([hostile()]));
    const res = await fetch(`${url}/dashboard`);
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });
});

describe("governor dashboard", () => {
  it("serves the trail read-only on 127.0.0.1 from the command line", async () => {
    const path = trail(many());
    const child = spawn(process.execPath, [BIN, "dashboard", "--db", path, "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
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
      // A page on another site whose name was rebound to 127.0.0.1 sends its own Host: refused.
      const rebound = await new Promise<number>((resolve, reject) => {
        const req = request(`${url}/dashboard`, { headers: { host: "evil.example" } }, (res) => (res.resume(), resolve(res.statusCode ?? 0)));
        req.on("error", reject);
        req.end();
      });
      expect(rebound).toBe(403);
    } finally {
      child.kill("SIGTERM");
    }
  });

  it("refuses to listen beyond loopback, where it would have no sign-in", async () => {
    const r = await run(["dashboard", "--db", trail(many()), "--host", "0.0.0.0", "--port", "0"], { cwd: tmpdir() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("listens on loopback only");
  });

  it("refuses a missing audit file", async () => {
    const r = await run(["dashboard", "--db", "/nonexistent/audit.db"], { cwd: tmpdir() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no such file");
  });
});
