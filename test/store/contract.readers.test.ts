// The audit log's reader methods (governor audit, simulate, usage; audit copy) on SQLite and PostgreSQL: the same
// answers from the same trail, and PostgreSQL's verify reads budget places a page at a time, not a row at a time.
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import type { AuditEntry } from "../../src/audit/store.js";
import { PostgresAuditLog } from "../../src/store/postgres/audit-log.js";
import { openPostgresStores } from "../../src/store/postgres/index.js";
import type { Opened } from "./backends.js";
import { backends } from "./backends.js";
import { entryFor, oneOfEach } from "../helpers/audit.js";
import { freshDatabase } from "../helpers/postgres.js";

const opened: Opened[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** Agent PRs decided with the budget places the store reserved for them, as the app records them. */
async function withPlaces(s: Opened, prs: number[], at = (pr: number) => `2026-11-24T12:${String(pr % 60).padStart(2, "0")}:00.000Z`): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  for (const pr of prs) {
    const entry = entryFor({ pr, files: ["docs/a.md"], at: at(pr), delivery: `d-${pr}` });
    const places = await s.budget.reservePlaces({
      repo: entry.repo,
      org: "acme",
      agents: [entry.agent!],
      pr,
      openedAt: entry.input!.change.created_at ?? entry.recorded_at,
    });
    Object.assign(entry.input!.context.usage, {
      prs_by_agent: places.repo.day,
      prs_by_agent_week: places.repo.week,
      org_prs_by_agent: places.org!.day,
      org_prs_by_agent_week: places.org!.week,
    });
    entries.push(entry);
  }
  return entries;
}

const job = (jobId: number, repo: string, completedAt: string) => ({
  jobId,
  repo,
  runId: 100 + jobId,
  workflow: "Copilot cloud agent",
  path: "dynamic/copilot-swe-agent/copilot",
  headBranch: `copilot/${jobId}`,
  startedAt: "2026-11-24T11:00:00Z",
  completedAt,
  deliveryId: `w-${jobId}`,
});

describe.each(backends)("AuditLog readers on $name", (backend) => {
  const open = async () => {
    const s = await backend.open();
    opened.push(s);
    return s;
  };

  it("iterateParsed yields each stored row with its input parsed and its policy texts in place", async () => {
    const s = await open();
    await s.audit.append(oneOfEach());
    const parsed = await collect(s.audit.iterateParsed({ outcome: "error" }));
    const hydrated = await collect(s.audit.iterate({ outcome: "error" }));
    expect(parsed.map((p) => p.row)).toEqual((await collect(s.audit.iterateStored())).filter((r) => r.outcome === "error"));
    expect(parsed.map((p) => p.input)).toEqual(hydrated.map((r) => (r.input === null ? null : (JSON.parse(r.input) as unknown))));
    expect(parsed.map((p) => p.input === null)).toEqual([false, true]);
  });

  it("latestEvaluated gives each PR's and each repository's newest row with inputs, in the order asked", async () => {
    const s = await open();
    // Row 6 (PR 9) has no inputs: the repository's newest evaluated row is PR 5's, row 5.
    await s.audit.append(oneOfEach());
    await s.audit.append([entryFor({ pr: 1, files: ["apps/api/src/billing/x.ts"] })]);
    const found = await s.audit.latestEvaluated([{ repo: "acme/webapp", pr: 9 }, { repo: "acme/webapp", pr: 1 }, { repo: "acme/webapp" }, { repo: "other/x" }]);
    expect(found.map((r) => r?.id)).toEqual([undefined, 7, 7, undefined]);
    expect(found[1]).toEqual(await s.audit.get(7));
  });

  it("budgetPlaces lists the places opened in the window, by scope, agent and opening time", async () => {
    const s = await open();
    await s.audit.append(await withPlaces(s, [3, 1, 2]));
    const places = await s.audit.budgetPlaces({ after: "2026-11-24T12:01:00.000Z", until: "2026-11-24T12:03:00.000Z" });
    expect(places).toEqual([
      { scope: "acme/webapp", repo: "acme/webapp", agent: "copilot", pr: 2, openedAt: "2026-11-24T12:02:00.000Z", position: 3, weekPosition: 3 },
      { scope: "acme/webapp", repo: "acme/webapp", agent: "copilot", pr: 3, openedAt: "2026-11-24T12:03:00.000Z", position: 1, weekPosition: 1 },
      { scope: "org:acme", repo: "acme/webapp", agent: "copilot", pr: 2, openedAt: "2026-11-24T12:02:00.000Z", position: 3, weekPosition: 3 },
      { scope: "org:acme", repo: "acme/webapp", agent: "copilot", pr: 3, openedAt: "2026-11-24T12:03:00.000Z", position: 1, weekPosition: 1 },
    ]);
  });

  it("reads every repository's workflow jobs in a window, and copies them as recorded, each once", async () => {
    const s = await open();
    await s.audit.recordWorkflowJob(job(2, "Acme/api", "2026-11-24T11:05:00Z"));
    await s.audit.recordWorkflowJob(job(1, "acme/webapp", "2026-11-24T11:10:00Z"));
    await s.audit.recordWorkflowJob(job(3, "other/x", "2026-11-24T13:00:00Z"));
    expect((await s.audit.allWorkflowJobs({ since: "2026-11-24T11:00:00Z", until: "2026-11-24T12:00:00Z" })).map((j) => [j.jobId, j.seconds])).toEqual([
      [1, 600],
      [2, 300],
    ]);
    const stored = await collect(s.audit.storedWorkflowJobs());
    expect(stored[0]).toEqual({ ...job(1, "acme/webapp", "2026-11-24T11:10:00.000Z"), startedAt: "2026-11-24T11:00:00.000Z" });
    expect((await collect(s.audit.storedWorkflowJobs(1))).map((j) => j.jobId)).toEqual([2, 3]);
    const copy = await open();
    expect(await copy.audit.importWorkflowJobs(stored)).toBe(3);
    expect(await copy.audit.importWorkflowJobs(stored)).toBe(0);
    expect(await collect(copy.audit.storedWorkflowJobs())).toEqual(stored);
  });
});

describe("verify on PostgreSQL", () => {
  it("reads the budget places of a page of rows in one query: 1,200 decisions (two pages) take a handful of queries, not one per row", async () => {
    const url = await freshDatabase("verify_batch");
    const stores = openPostgresStores(url);
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    try {
      await stores.migrate();
      const s = { audit: stores.audit, budget: stores.budget } as unknown as Opened;
      const prs = Array.from({ length: 1200 }, (_, i) => i + 1);
      const entries = await withPlaces(s, prs, (pr) => new Date(Date.parse("2026-11-24T00:00:00.000Z") + pr * 1000).toISOString());
      await stores.audit.append(entries);
      let queries = 0;
      const query = pool.query.bind(pool);
      pool.query = ((...args: Parameters<typeof query>) => (queries++, query(...args))) as typeof pool.query;
      const log = new PostgresAuditLog(pool);
      expect(await log.verify()).toEqual({ rows: 1200, broken: null });
      // Structure (3), texts (2), budget and identity tables (2), and per page of 1,000 rows: the rows and their places.
      expect(queries).toBeLessThanOrEqual(15);
      await pool.query("UPDATE budget_reservations SET position = 1 WHERE pr = 1100 AND scope = 'org:acme'");
      expect((await log.verify()).broken?.problem).toMatch(
        /^row 1100 was decided as copilot's PR number 1100 of the day across the org, but the budget reservations say 1/,
      );
    } finally {
      await pool.end();
      await stores.close();
    }
  });
});
