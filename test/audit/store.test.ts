import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { AuditSchemaError, migrate, SCHEMA_VERSION } from "../../src/audit/schema.js";
import { type AuditEntry, AuditStore, openAuditStore } from "../../src/audit/store.js";
import { canonicalJson } from "../../src/policy/canonical.js";
import { entryFor, oneOfEach } from "../helpers/audit.js";
import { tempDir } from "../helpers/cli.js";

const dbPath = () => join(tempDir(), "audit.db");

describe("audit store: schema", () => {
  it("creates the schema in an empty file and records its version", () => {
    const path = dbPath();
    openAuditStore(path).close();
    const db = new Database(path);
    expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
  });

  it("upgrades a version 1 file, backfilling the budget table from its rows", () => {
    const path = dbPath();
    // A file as Governor's schema version 1 wrote it: the decisions table only.
    const old = new Database(path);
    old.exec(`CREATE TABLE decisions (id INTEGER PRIMARY KEY AUTOINCREMENT, recorded_at TEXT NOT NULL, delivery_id TEXT, installation_id INTEGER,
      repo TEXT NOT NULL, pr INTEGER NOT NULL, head_sha TEXT NOT NULL, base_sha TEXT NOT NULL, agent TEXT, outcome TEXT NOT NULL,
      evaluator_version TEXT NOT NULL, title TEXT NOT NULL, decision TEXT NOT NULL, input TEXT, input_missing_reason TEXT,
      prev_hash TEXT NOT NULL, hash TEXT NOT NULL); CREATE INDEX decisions_time ON decisions (recorded_at); PRAGMA user_version = 1;`);
    old
      .prepare(
        "INSERT INTO decisions (recorded_at, repo, pr, head_sha, base_sha, agent, outcome, evaluator_version, title, decision, input, prev_hash, hash) VALUES ('2026-11-24T10:00:00.000Z', 'acme/webapp', 3, 'a', 'b', 'copilot', 'allowed', '1.0.0', 't', '{}', NULL, 'x', 'y')",
      )
      .run();
    old.close();
    const store = openAuditStore(path);
    expect(store.db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    expect(store.countAgentPrs({ repo: "acme/webapp", agent: "copilot", since: "2026-11-24T00:00:00.000Z", until: "2026-11-25T00:00:00.000Z" })).toBe(1);
  });

  it("upgrades a version 6 file to budget and identity tables without rowids, keeping their rows and the chain", () => {
    const path = dbPath();
    // A file as schema version 6 left it, written through the same statements (its tables have the same columns).
    const db = new Database(path);
    db.pragma("journal_mode = WAL");
    expect(migrate(db, path, { to: 6 })).toEqual({ from: 0, to: 6 });
    const v6 = new AuditStore(db, path);
    v6.recordBatch(oneOfEach());
    const tables = () =>
      db.prepare("SELECT name, sql FROM sqlite_master WHERE name IN ('agent_prs', 'pr_identities') ORDER BY name").all() as Array<{
        name: string;
        sql: string;
      }>;
    const contents = () => ({
      prs: db.prepare("SELECT * FROM agent_prs ORDER BY repo, pr").all(),
      identities: db.prepare("SELECT * FROM pr_identities ORDER BY repo, pr, agent").all(),
    });
    expect(tables().every((t) => !t.sql.includes("WITHOUT ROWID"))).toBe(true);
    const before = contents();
    expect(before.prs.length).toBeGreaterThan(0);
    expect(before.identities.length).toBeGreaterThan(0);
    db.close();

    const store = openAuditStore(path);
    expect(store.db.pragma("user_version", { simple: true })).toBe(7);
    const after = store.db.prepare("SELECT name, sql FROM sqlite_master WHERE name IN ('agent_prs', 'pr_identities') ORDER BY name").all() as Array<{
      sql: string;
    }>;
    expect(after.map((t) => t.sql.includes("WITHOUT ROWID"))).toEqual([true, true]);
    expect({
      prs: store.db.prepare("SELECT * FROM agent_prs ORDER BY repo, pr").all(),
      identities: store.db.prepare("SELECT * FROM pr_identities ORDER BY repo, pr, agent").all(),
    }).toEqual(before);
    expect(store.verify().broken).toBeNull();
    store.close();
  });

  it("refuses a file written by a newer Governor", () => {
    const path = dbPath();
    const db = new Database(path);
    db.pragma("user_version = 99");
    db.close();
    expect(() => openAuditStore(path)).toThrow(AuditSchemaError);
    expect(() => openAuditStore(path)).toThrow(/has audit schema version 99, newer than this Governor understands \(7\)/);
  });
});

describe("audit store: rows and chain", () => {
  it("round-trips a decision as canonical JSON and its input exactly as evaluated", () => {
    const store = openAuditStore(dbPath());
    const entry = entryFor({ files: ["docs/a.md"] });
    const { id } = store.record(entry);
    const row = store.get(id);
    expect(row?.decision).toBe(canonicalJson(entry.decision));
    expect(row?.input).toBe(JSON.stringify(entry.input));
    expect(row).toMatchObject({ repo: "acme/webapp", pr: 7, agent: "copilot", outcome: "allowed", title: "Allowed: 1 file within policy" });
  });

  it("links each row to the one before it", () => {
    const store = openAuditStore(dbPath());
    const [a, b] = store.recordBatch(oneOfEach().slice(0, 2));
    expect(store.get(b!.id)?.prev_hash).toBe(a!.hash);
    expect(store.verify()).toEqual({ rows: 2, broken: null });
  });

  it("keeps one chain when two store instances write to the same file", () => {
    const path = dbPath();
    const one = openAuditStore(path);
    const two = openAuditStore(path);
    for (let i = 0; i < 10; i++) (i % 2 ? one : two).record(entryFor({ pr: i }));
    expect(one.verify()).toEqual({ rows: 10, broken: null });
  });

  it("writes a batch all or nothing", () => {
    const store = openAuditStore(dbPath());
    const bad = { ...entryFor({ pr: 2 }), repo: null as unknown as string };
    expect(() => store.recordBatch([entryFor({ pr: 1 }), bad])).toThrow();
    expect(store.count()).toBe(0);
  });

  it("catches an edited row", () => {
    const store = openAuditStore(dbPath());
    store.recordBatch(oneOfEach());
    store.db.prepare("UPDATE decisions SET outcome = 'allowed' WHERE id = 3").run();
    expect(store.verify().broken).toEqual({ id: 3, problem: "row 3 was edited: its content does not match its hash" });
  });

  it("catches a deleted row", () => {
    const store = openAuditStore(dbPath());
    store.recordBatch(oneOfEach());
    store.db.prepare("DELETE FROM decisions WHERE id = 2").run();
    expect(store.verify().broken?.id).toBe(3);
    expect(store.verify().broken?.problem).toMatch(/^rows 2..2 are missing \(deleted\)/);
  });

  it("catches two rows swapped", () => {
    const store = openAuditStore(dbPath());
    store.recordBatch(oneOfEach());
    const cols =
      "recorded_at, delivery_id, installation_id, repo, pr, head_sha, base_sha, agent, outcome, evaluator_version, title, decision, input, input_missing_reason, prev_hash, hash";
    store.db.exec(`CREATE TEMP TABLE t AS SELECT * FROM decisions WHERE id IN (2, 4);
      UPDATE decisions SET (${cols}) = (SELECT ${cols} FROM t WHERE t.id = 4) WHERE id = 2;
      UPDATE decisions SET (${cols}) = (SELECT ${cols} FROM t WHERE t.id = 2) WHERE id = 4;`);
    expect(store.verify().broken?.id).toBe(2);
  });

  it("stores each policy text once, however many decisions read it", () => {
    const store = openAuditStore(dbPath());
    const entries = [entryFor({ pr: 1 }), entryFor({ pr: 2 }), entryFor({ pr: 3 })];
    store.recordBatch(entries);
    expect(store.db.prepare("SELECT count(*) AS n FROM policy_texts").get()).toEqual({ n: 1 });
    const raw = store.db.prepare("SELECT input FROM decisions WHERE id = 2").get() as { input: string };
    expect(raw.input).not.toContain("version: 1");
    expect(store.get(2)?.input).toBe(JSON.stringify(entries[1]!.input));
  });

  it("catches an edited policy text", () => {
    const store = openAuditStore(dbPath());
    store.recordBatch(oneOfEach());
    store.db.prepare("UPDATE policy_texts SET text = replace(text, 'deny', 'allow')").run();
    expect(store.verify().broken?.problem).toMatch(/^policy text [0-9a-f]{12} was edited: its content does not match its hash$/);
  });

  it("catches a deleted policy text", () => {
    const store = openAuditStore(dbPath());
    store.recordBatch(oneOfEach());
    store.db.prepare("DELETE FROM policy_texts").run();
    expect(store.verify().broken).toEqual({ id: 1, problem: expect.stringMatching(/^row 1 refers to policy text [0-9a-f]{12}, which was deleted$/) });
  });
});

describe("audit store: what the chain alone would miss", () => {
  it("catches a trigger, which could delete or alter rows as they are written", () => {
    const store = openAuditStore(dbPath());
    store.recordBatch(oneOfEach());
    store.db.exec("CREATE TRIGGER hide AFTER INSERT ON decisions WHEN NEW.outcome = 'denied' BEGIN DELETE FROM decisions WHERE id = NEW.id; END");
    expect(store.verify().broken?.problem).toMatch(/^the file has triggers Governor never creates \(hide\)/);
  });

  it("catches a column Governor never writes, which readers would otherwise show", () => {
    const store = openAuditStore(dbPath());
    store.recordBatch(oneOfEach());
    store.db.exec("ALTER TABLE decisions ADD COLUMN approved_by_ciso TEXT");
    expect(store.verify().broken?.problem).toBe("the decisions table has columns Governor never writes (approved_by_ciso)");
    expect(Object.keys(store.get(1)!)).not.toContain("approved_by_ciso");
  });

  it("catches an edited budget table, which would lift an agent's daily limit", () => {
    const store = openAuditStore(dbPath());
    store.recordBatch(oneOfEach());
    store.db.prepare("UPDATE agent_prs SET created_at = '1999-01-01T00:00:00.000Z'").run();
    expect(store.verify().broken?.problem).toMatch(/^the budget table \(agent_prs\) does not follow from the decisions/);
  });
});

describe("audit store: the latest decision of each PR", () => {
  it("filters PRs by their current state, not by an older decision", () => {
    const store = openAuditStore(dbPath());
    store.recordBatch([
      entryFor({ pr: 30, files: ["apps/api/src/billing/x.ts"] }),
      entryFor({ pr: 30, files: ["docs/a.md"] }),
      entryFor({ pr: 31, files: ["apps/api/src/billing/x.ts"] }),
    ]);
    expect([...store.latestPerPr({ outcome: "denied" })].map((r) => [r.pr, r.id])).toEqual([[31, 3]]);
    expect([...store.latestPerPr({})].map((r) => [r.pr, r.id])).toEqual([
      [30, 2],
      [31, 3],
    ]);
  });
});

describe("audit store: usage for budgets", () => {
  const window = { repo: "acme/webapp", agent: "copilot", since: "2026-11-23T12:00:00.000Z", until: "2026-11-24T12:00:00.000Z" };

  it("counts distinct PRs by creation time, since inclusive and until exclusive", () => {
    const store = openAuditStore(dbPath());
    const at = (pr: number, created: string) => ({ ...entryFor({ pr, change: { created_at: created } }) });
    store.recordBatch([
      at(1, "2026-11-23T11:59:59.999Z"), // just before the window
      at(2, "2026-11-23T12:00:00.000Z"), // on the lower edge: in
      at(3, "2026-11-24T11:59:59.999Z"), // in
      at(3, "2026-11-24T11:59:59.999Z"), // the same PR again: counted once
      at(4, "2026-11-24T12:00:00.000Z"), // on the upper edge: out
    ]);
    expect(store.countAgentPrs(window)).toBe(2);
    expect(store.countAgentPrs({ ...window, excludePr: 3 })).toBe(1);
  });

  it("does not count another agent's or another repo's PRs", () => {
    const store = openAuditStore(dbPath());
    store.record(entryFor({ pr: 1, change: { created_at: "2026-11-24T00:00:00.000Z", author: { login: "devin-ai-integration[bot]", type: "Bot" } } }));
    expect(store.countAgentPrs(window)).toBe(0);
    expect(store.countAgentPrs({ ...window, agent: "devin" })).toBe(1);
    expect(store.countAgentPrs({ ...window, agent: "devin", repo: "acme/other" })).toBe(0);
  });

  it("answers the budget query from its index, not a scan", () => {
    const store = openAuditStore(dbPath());
    const plan = store.db
      .prepare("EXPLAIN QUERY PLAN SELECT count(*) FROM agent_prs WHERE repo = 'r' AND agent = 'a' AND created_at >= 'x' AND created_at < 'y' AND pr != -1")
      .all() as Array<{ detail: string }>;
    expect(plan.map((p) => p.detail).join(" ")).toMatch(/USING (COVERING )?INDEX agent_prs_window/);
  });
});

describe("audit store: bytes pinned across changes to the write path", () => {
  // Frozen entries (fixtures/audit/one-of-each.json: decisions change with the evaluator, the store's bytes must not),
  // pinned with the write path as it was before it was reworked (5647114): the same rows hash and store alike.
  it("writes one row of each outcome with the hashes, stored bytes and policy texts it always had", () => {
    const store = openAuditStore(dbPath());
    const frozen = JSON.parse(readFileSync(new URL("../../fixtures/audit/one-of-each.json", import.meta.url), "utf8")) as AuditEntry[];
    const written = store.recordBatch(frozen);
    expect(written.map((w) => w.hash)).toEqual([
      "74fd621acc6375f0b6a4f4c1658080a201d4e1880b68c1416ebaf5b697fb0588",
      "0ac4c4f65b44dc6bcd5a40e18decf98a9b79bb43331808f5e4789c6fe4914058",
      "7f9b99f38eddf195a48c5ac3e928d008170f322e549c0b0f33c8c1b273e49f38",
      "c15c45bd170fdf427d40a3794204e11619677ca66341272d5e788efae667eec9",
      "372dafe3589254ad6bf026a6e6b9995ddbf796244345edef770f0ebfbbd31012",
      "a91739dc602830f7d383e5427be1dd4f800b5a0b748b2d2d2ea52fe2add65fee",
    ]);
    const digest = (rows: unknown) => createHash("sha256").update(JSON.stringify(rows)).digest("hex");
    expect(digest(store.db.prepare("SELECT * FROM decisions ORDER BY id").all())).toBe("e70e10aad999d4521b6efb81b583506037455b04a2c14f008b576882c3b0c9c7");
    expect(digest(store.db.prepare("SELECT * FROM policy_texts ORDER BY sha256").all())).toBe(
      "2bdb4a7933199a2254d862639100b013cd38205550486f3501fdc507deb997f1",
    );
  });

  it("writes the same bytes one row at a time as in one batch", () => {
    const one = openAuditStore(dbPath());
    for (const entry of oneOfEach()) one.record(entry);
    const batch = openAuditStore(dbPath());
    batch.recordBatch(oneOfEach());
    const all = (s: typeof one) => s.db.prepare("SELECT * FROM decisions ORDER BY id").all();
    expect(all(one)).toEqual(all(batch));
  });
});

describe("audit store: group commit (recordMany)", () => {
  it("writes decisions that finish together, each durable and chained when it returns", () => {
    const path = dbPath();
    const store = openAuditStore(path);
    const results = store.recordMany(oneOfEach());
    expect(results.map((r) => (r.ok ? r.id : r.error.message))).toEqual([1, 2, 3, 4, 5, 6]);
    // Another connection sees every row at once: they were committed before recordMany returned.
    const reader = openAuditStore(path, { readonly: true });
    expect(reader.count()).toBe(6);
    expect(reader.verify().broken).toBeNull();
  });

  it("writes the others when one entry cannot be written, and returns that entry's error", () => {
    const store = openAuditStore(dbPath());
    const [a, b, c] = oneOfEach();
    const bad = { ...b!, repo: null as unknown as string };
    const results = store.recordMany([a!, bad, c!]);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect(results[1]).toMatchObject({ ok: false, error: { message: expect.stringMatching(/NOT NULL/) } });
    expect(store.count()).toBe(2);
    expect(store.verify().broken).toBeNull();
  });

  it("keeps one chain when two stores append to one file in turn (the head each expected had moved)", () => {
    const path = dbPath();
    const first = openAuditStore(path);
    const second = openAuditStore(path);
    const entries = oneOfEach();
    first.recordMany(entries.slice(0, 2));
    second.recordMany(entries.slice(2, 4));
    first.recordMany(entries.slice(4));
    expect(first.list({ limit: 10 }).map((r) => r.id)).toEqual([6, 5, 4, 3, 2, 1]);
    expect(first.verify().broken).toBeNull();
  });

  it("leaves the budget and identity tables as one row at a time would, a release inside the batch included", () => {
    const seven = (files: string[]) => entryFor({ pr: 7, files });
    const release = { ...seven(["docs/a.md"]), input: null, input_missing_reason: "released by @octocat" };
    const entries = [seven(["docs/a.md"]), seven(["docs/b.md"]), release, seven(["db/migrations/1.sql"]), entryFor({ pr: 8, files: ["docs/a.md"] })];
    const one = openAuditStore(dbPath());
    for (const entry of entries) one.record(entry);
    const batch = openAuditStore(dbPath());
    batch.recordMany(entries);
    const tables = (s: typeof one) => ["agent_prs", "pr_identities"].map((t) => s.db.prepare(`SELECT * FROM ${t} ORDER BY 1, 2, 3`).all());
    expect(tables(batch)).toEqual(tables(one));
    expect(batch.knownAgents("acme/webapp", 7).length).toBeGreaterThan(0);
  });
});

describe("audit store: prepared appends (serialised before the write transaction)", () => {
  it("prepares entries without touching the file, and writes them with the bytes recordBatch writes", () => {
    const entries = oneOfEach();
    const direct = openAuditStore(dbPath());
    direct.recordBatch(entries);
    const store = openAuditStore(dbPath());
    const prepared = store.prepare(entries);
    expect(store.count()).toBe(0);
    expect(store.db.prepare("SELECT count(*) AS n FROM policy_texts").get()).toEqual({ n: 0 });
    store.appendPrepared(prepared);
    expect(store.list({ limit: 10 })).toEqual(direct.list({ limit: 10 }));
    expect(store.verify().broken).toBeNull();
  });

  it("links a batch prepared before another writer appended after that writer's rows", () => {
    const path = dbPath();
    const one = openAuditStore(path);
    const two = openAuditStore(path);
    one.record(entryFor({ pr: 1 }));
    const prepared = one.prepare([entryFor({ pr: 2 }), entryFor({ pr: 3 })]);
    two.record(entryFor({ pr: 4 }));
    const [first] = one.appendPrepared(prepared);
    expect(first?.id).toBe(3);
    expect(one.get(3)?.prev_hash).toBe(one.get(2)?.hash);
    expect(one.verify()).toEqual({ rows: 4, broken: null });
  });

  it("refuses to append one prepared batch twice, and writes nothing the second time", () => {
    const store = openAuditStore(dbPath());
    const prepared = store.prepare([entryFor({ pr: 1 })]);
    store.appendPrepared(prepared);
    expect(() => store.appendPrepared(prepared)).toThrow(/appended already/);
    expect(store.count()).toBe(1);
  });

  it("appends a batch again after its transaction failed, chained from the file's head", () => {
    const store = openAuditStore(dbPath());
    store.record(entryFor({ pr: 1 }));
    const prepared = store.prepare([entryFor({ pr: 2 })]);
    store.db.exec("CREATE TRIGGER refuse BEFORE INSERT ON decisions BEGIN SELECT RAISE(ABORT, 'disk says no'); END");
    expect(() => store.appendPrepared(prepared)).toThrow(/disk says no/);
    store.db.exec("DROP TRIGGER refuse");
    expect(store.appendPrepared(prepared)).toEqual([{ id: 2, hash: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
    expect(store.verify()).toEqual({ rows: 2, broken: null });
  });

  it("answers an empty prepared batch without waiting for the write lock", () => {
    const path = dbPath();
    const store = openAuditStore(path);
    store.db.pragma("busy_timeout = 0");
    const other = new Database(path);
    other.exec("BEGIN IMMEDIATE");
    try {
      expect(store.appendPrepared(store.prepare([]))).toEqual([]);
      expect(() => store.appendPrepared(store.prepare([entryFor({ pr: 1 })]))).toThrow(/locked|busy/i);
    } finally {
      other.exec("ROLLBACK");
      other.close();
    }
  });
});
