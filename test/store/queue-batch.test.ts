// SQLite's delivery queue writes the results of evaluations finished in one turn of the event loop in one transaction,
// and each caller still hears whether the delivery was its own.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import type { IncomingDelivery } from "../../src/store/ports.js";
import { SqliteDeliveryQueue } from "../../src/store/sqlite/delivery-queue.js";

const dbs: Database.Database[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function queue(): { queue: SqliteDeliveryQueue; batches: number[]; db: Database.Database } {
  const dir = mkdtempSync(join(tmpdir(), "governor-queue-batch-"));
  dirs.push(dir);
  const db = new Database(join(dir, "governor.db"));
  db.pragma("journal_mode = WAL");
  dbs.push(db);
  const batches: number[] = [];
  return { queue: new SqliteDeliveryQueue(db, undefined, { onFinishBatch: (n) => batches.push(n) }), batches, db };
}

const delivery = (id: string, pr: number): IncomingDelivery => ({
  id,
  event: "pull_request",
  action: "opened",
  payload: "{}",
  relevance: { evaluate: true, installationId: 1, prKey: `acme/webapp#${pr}`, headSha: null },
});

describe("SqliteDeliveryQueue.finish in one turn", () => {
  it("writes the results finished together in one transaction, each caller told whether the lease was its own", async () => {
    const { queue: q, batches } = queue();
    for (const [i, id] of ["a", "b", "c"].entries()) await q.accept(delivery(id, i));
    expect((await q.claim({ owner: "me", max: 3, leaseMs: 60_000, installationLimit: 10 })).map((d) => d.id)).toEqual(["a", "b", "c"]);
    const mine = await Promise.all([q.finish("me", "a", "done"), q.finish("someone-else", "b", "done"), q.finish("me", "c", "failed", "gave up")]);
    expect(batches).toEqual([3]);
    expect(mine).toEqual([true, false, true]);
    expect([(await q.statusOf("a"))?.status, (await q.statusOf("b"))?.status, (await q.statusOf("c"))?.note]).toEqual(["done", "processing", "gave up"]);
  });

  it("rejects every result of the turn when their transaction cannot be written", async () => {
    const { queue: q, db } = queue();
    for (const [i, id] of ["a", "b"].entries()) await q.accept(delivery(id, i));
    await q.claim({ owner: "me", max: 2, leaseMs: 60_000, installationLimit: 10 });
    const pending = [q.finish("me", "a", "done"), q.finish("me", "b", "done")];
    db.close();
    expect((await Promise.allSettled(pending)).map((r) => r.status)).toEqual(["rejected", "rejected"]);
  });
});
