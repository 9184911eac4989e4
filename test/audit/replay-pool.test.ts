// A whole trail replayed on worker threads (what `governor audit replay --all` runs) gives, row for row and in the
// trail's order, what replaying it on one thread gives.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Replayer } from "../../src/audit/replay.js";
import { replayStored } from "../../src/audit/replay-pool.js";
import { openAuditStore } from "../../src/audit/store.js";
import { openSqliteAuditLog } from "../../src/store/sqlite/audit-log.js";
import type { AuditRecord, StoredPolicyText } from "../../src/store/ports.js";
import { entryFor, oneOfEach } from "../helpers/audit.js";
import { tempDir } from "../helpers/cli.js";

/** A trail of every outcome, a row without input, and one forged decision (row 3). */
function trail(): string {
  const path = join(tempDir(), "audit.db");
  const store = openAuditStore(path);
  store.recordBatch([...oneOfEach(), ...Array.from({ length: 20 }, (_, i) => entryFor({ pr: 100 + i, files: ["docs/a.md"] }))]);
  const d = JSON.parse(store.get(3)!.decision) as Record<string, unknown>;
  store.db.prepare("UPDATE decisions SET decision = ? WHERE id = 3").run(JSON.stringify({ ...d, outcome: "allowed" }));
  store.close();
  return path;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function stored(path: string): Promise<{ rows: AuditRecord[]; texts: StoredPolicyText[] }> {
  const { log } = openSqliteAuditLog(path);
  try {
    return { rows: await collect(log.iterateStored()), texts: await collect(log.policyTexts()) };
  } finally {
    log.store.close();
  }
}

describe("replay on worker threads", () => {
  it("gives each row the result a replay on one thread gives it, in the trail's order", async () => {
    const path = trail();
    const store = openAuditStore(path, { readonly: true });
    const replayer = new Replayer();
    const here = [...store.iterateParsed({})].map(({ row, input }) => ({ id: row.id, result: replayer.replay(row, input) }));
    store.close();
    const { rows, texts } = await stored(path);
    const pooled = await collect(replayStored(rows, texts, { workers: 2, minRows: 0, batch: 3 }));
    expect(pooled.map(({ row, result }) => ({ id: row.id, result }))).toEqual(here);
    expect(here.map((r) => r.result.status)).toContain("different");
    expect(here.map((r) => r.result.status)).toContain("skipped");
  });

  it("replays a short trail on this thread, with the same results", async () => {
    const { rows, texts } = await stored(trail());
    const here = await collect(replayStored(rows, texts));
    const pooled = await collect(replayStored(rows, texts, { workers: 2, minRows: 0 }));
    expect(here).toEqual(pooled);
  });

  it("ends with the store's complaint when a row refers to a policy text the trail does not have", async () => {
    const { rows } = await stored(trail());
    await expect(collect(replayStored(rows, [], { workers: 2, minRows: 0, batch: 4 }))).rejects.toThrow(
      /has no policy text [0-9a-f]{64}: the file was damaged/,
    );
    await expect(collect(replayStored(rows, []))).rejects.toThrow(/has no policy text/);
  });
});
