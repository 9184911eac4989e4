// SQLite's budget reservations of one turn of the event loop share one transaction (one fsync), yet each caller gets
// the places it would get alone, hears them only after the commit, and a failing reservation fails only its caller.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { type AuditStore, openAuditStore } from "../../src/audit/store.js";
import { SqliteBudgetCounter } from "../../src/store/sqlite/budget-counter.js";

const open: Array<{ close(): void }> = [];
const dirs: string[] = [];
afterEach(() => {
  for (const c of open.splice(0)) c.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function counter(): { budget: SqliteBudgetCounter; commits: number[]; store: AuditStore; path: string } {
  const dir = mkdtempSync(join(tmpdir(), "governor-budget-batch-"));
  dirs.push(dir);
  const path = join(dir, "governor.db");
  const store = openAuditStore(path);
  const db = new Database(path);
  open.push(db, store);
  const commits: number[] = [];
  return { budget: new SqliteBudgetCounter(db, store, { onCommit: (b) => commits.push(b.callers) }), commits, store, path };
}

const ask = (pr: number, openedAt = "2026-11-24T12:00:00.000Z") => ({ repo: "acme/webapp", org: "acme", agents: ["copilot"], pr, openedAt });

describe("SqliteBudgetCounter.reservePlaces in one turn", () => {
  it("reserves a burst in one transaction, in the order asked, each with its own places", async () => {
    const { budget, commits } = counter();
    const got = await Promise.all(Array.from({ length: 10 }, (_, i) => budget.reservePlaces(ask(100 + i))));
    expect(commits).toEqual([10]);
    expect(got.map((p) => p.repo.day["copilot"])).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(got.map((p) => p.org?.week["copilot"])).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
  });

  it("resolves a caller only after the shared transaction committed, visible to another connection", async () => {
    const { budget, path } = counter();
    const other = new Database(path, { readonly: true });
    open.push(other);
    const seen = await Promise.all(
      [1, 2, 3].map((pr) =>
        budget.reservePlaces(ask(pr)).then(() => (other.prepare("SELECT count(*) AS n FROM agent_budget_places WHERE pr = ?").get(pr) as { n: number }).n),
      ),
    );
    expect(seen).toEqual([2, 2, 2]); // the repo's place and the org's
  });

  it("rejects only the reservation that fails, and keeps the others' places as if it had not asked", async () => {
    const { budget, commits } = counter();
    const got = await Promise.allSettled([budget.reservePlaces(ask(1)), budget.reservePlaces(ask(2, "not a time")), budget.reservePlaces(ask(3))]);
    expect(commits).toEqual([3]);
    expect(got.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(got.flatMap((r) => (r.status === "fulfilled" ? [r.value.repo.day["copilot"]] : []))).toEqual([1, 2]);
  });

  it("undoes a reservation whose insert the database refuses, alone", async () => {
    const { budget, store } = counter();
    store.db.exec(
      "CREATE TRIGGER refuse_13 BEFORE INSERT ON agent_budget_places WHEN NEW.pr = 13 AND NEW.scope LIKE 'org:%' BEGIN SELECT RAISE(ABORT, 'refused'); END",
    );
    const got = await Promise.allSettled([budget.reservePlaces(ask(12)), budget.reservePlaces(ask(13)), budget.reservePlaces(ask(14))]);
    expect(got.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    // PR 13's repo place, written before its org place was refused, is rolled back with it.
    expect(store.db.prepare("SELECT pr FROM agent_budget_places ORDER BY pr, scope").all()).toEqual([{ pr: 12 }, { pr: 12 }, { pr: 14 }, { pr: 14 }]);
  });

  it("rejects every caller when the shared transaction cannot be written", async () => {
    const { budget, store } = counter();
    const pending = [budget.reservePlaces(ask(1)), budget.reservePlaces(ask(2))];
    store.db.close();
    const got = await Promise.allSettled(pending);
    expect(got.map((r) => r.status)).toEqual(["rejected", "rejected"]);
  });
});
