// On a SQLite file in WAL mode, an accepted delivery, an appended decision and a check run's intent are made durable by an fsync of the WAL
// off the event loop; each caller hears its result only after it. When that fsync cannot be done, the caller is
// refused (GitHub is not told the delivery was stored; a decision's check is not reported), never told it succeeded.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { IncomingDelivery } from "../../src/store/ports.js";
import { openSqliteStores, type SqliteStores } from "../../src/store/sqlite/index.js";
import { entryFor } from "../helpers/audit.js";

const opened: SqliteStores[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function stores(): { s: SqliteStores; path: string } {
  const dir = mkdtempSync(join(tmpdir(), "governor-wal-sync-"));
  dirs.push(dir);
  const path = join(dir, "governor.db");
  const s = openSqliteStores(path);
  opened.push(s);
  return { s, path };
}

const delivery = (id: string): IncomingDelivery => ({
  id,
  event: "pull_request",
  action: "opened",
  payload: "{}",
  relevance: { evaluate: true, installationId: 1, prKey: `acme/webapp#${id}`, headSha: null },
});

describe("durability through the WAL's fsync", () => {
  it("answers accepts and appends once synced, and they read back", async () => {
    const { s } = stores();
    expect(await Promise.all([s.queue.accept(delivery("a")), s.queue.accept(delivery("b"))])).toEqual([{ status: "queued" }, { status: "queued" }]);
    const [row] = await s.audit.append([entryFor({ pr: 1, files: ["docs/a.md"] })]);
    expect((await s.audit.get(row!.id))?.hash).toBe(row!.hash);
    expect(await s.queue.depth()).toBe(2);
  });

  it("refuses an accept and an append whose WAL cannot be synced", async () => {
    const { s, path } = stores();
    await s.queue.accept(delivery("first"));
    // The WAL file gone from the folder: SQLite keeps writing to its open file, but nothing can sync it by name.
    rmSync(`${path}-wal`);
    await expect(s.queue.accept(delivery("second"))).rejects.toThrow(/ENOENT/);
    await expect(s.audit.append([entryFor({ pr: 2, files: ["docs/b.md"] })])).rejects.toThrow(/ENOENT/);
    // A check run's intent, which must be on disk before the run is created on GitHub.
    await expect(s.checkRuns.intend("acme/webapp@abc", "sqlite", 60_000)).rejects.toThrow(/ENOENT/);
  });
});
