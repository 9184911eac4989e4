// SQLite's delivery queue writes the results of evaluations finished in one turn of the event loop in one transaction,
// and each caller still hears whether the delivery was its own.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import type { IncomingDelivery } from "../../src/store/ports.js";
import { SQLITE_QUEUE_MIGRATIONS, SqliteDeliveryQueue } from "../../src/store/sqlite/delivery-queue.js";
import { migrateSqlite } from "../../src/store/sqlite/migrate.js";

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

describe("SqliteDeliveryQueue payloads, kept beside the queue rows", () => {
  const payloadOf = (i: number) => JSON.stringify({ pr: i, body: "x".repeat(30_000) });

  it("hands each claimed delivery its payload as accepted, and writes it once, not again on its lease and finish", async () => {
    const { queue: q, db } = queue();
    await q.accept({ ...delivery("a", 1), payload: payloadOf(1) });
    const [claimed] = await q.claim({ owner: "me", max: 1, leaseMs: 60_000, installationLimit: 10 });
    expect(claimed?.payload).toBe(payloadOf(1));
    await q.finish("me", "a", "done");
    const columns = (db.prepare("PRAGMA table_info(delivery_queue)").all() as Array<{ name: string }>).map((c) => c.name);
    expect(columns).not.toContain("payload");
    expect(db.prepare("SELECT payload FROM delivery_payloads").all()).toEqual([{ payload: payloadOf(1) }]);
  });

  it("keeps the payloads of deliveries queued by the previous schema, which held them in the queue row", async () => {
    const dir = mkdtempSync(join(tmpdir(), "governor-queue-v1-"));
    dirs.push(dir);
    const db = new Database(join(dir, "governor.db"));
    dbs.push(db);
    migrateSqlite(db, "queue", SQLITE_QUEUE_MIGRATIONS.slice(0, 1));
    const insert = db.prepare(`INSERT INTO delivery_queue (delivery_id, event, action, installation_id, pr_key, head_sha, payload, status, received_at)
      VALUES (?, 'pull_request', 'opened', 1, ?, NULL, ?, 'queued', 1)`);
    insert.run("old-1", "acme/webapp#1", payloadOf(1));
    insert.run("old-2", "acme/webapp#2", payloadOf(2));
    const q = new SqliteDeliveryQueue(db);
    expect(q.migrated).toMatchObject({ from: 1, to: 2, applied: ["payloads beside the queue"] });
    const claimed = await q.claim({ owner: "me", max: 2, leaseMs: 60_000, installationLimit: 10 });
    expect(claimed.map((d) => [d.id, d.payload])).toEqual([
      ["old-1", payloadOf(1)],
      ["old-2", payloadOf(2)],
    ]);
  });

  it("prunes a finished delivery's payload with its row, and keeps those of deliveries still queued", async () => {
    let now = 1_000;
    const dir = mkdtempSync(join(tmpdir(), "governor-queue-prune-"));
    dirs.push(dir);
    const db = new Database(join(dir, "governor.db"));
    dbs.push(db);
    const q = new SqliteDeliveryQueue(db, () => new Date(now));
    await q.accept({ ...delivery("a", 1), payload: payloadOf(1) });
    await q.accept({ ...delivery("b", 2), payload: payloadOf(2) });
    await q.claim({ owner: "me", max: 1, leaseMs: 60_000, installationLimit: 10 });
    await q.finish("me", "a", "done");
    now = 5_000;
    expect(await q.prune(new Date(4_000))).toBe(1);
    expect(db.prepare("SELECT payload FROM delivery_payloads").all()).toEqual([{ payload: payloadOf(2) }]);
    expect((await q.claim({ owner: "me", max: 1, leaseMs: 60_000, installationLimit: 10 }))[0]?.payload).toBe(payloadOf(2));
  });
});
