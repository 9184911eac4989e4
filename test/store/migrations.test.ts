// Each store versions its own schema: migrate says what it applied, applies each step once even when replicas start
// together, and refuses a schema newer than it knows.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { StoreSchemaError } from "../../src/store/errors.js";
import { openPostgresStores, type PostgresStores } from "../../src/store/postgres/index.js";
import { openSqliteStores } from "../../src/store/sqlite/index.js";
import { entryFor } from "../helpers/audit.js";
import { freshDatabase, startPostgres } from "../helpers/postgres.js";
import { postgresBackend, sqliteBackend } from "./backends.js";

const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

let url: Promise<string> | undefined;
let n = 0;
/** Stores on a new, empty schema: nothing migrated yet. */
async function emptyPostgres(count = 1): Promise<PostgresStores[]> {
  url ??= freshDatabase("migrations");
  const schema = `m${++n}`;
  const admin = new pg.Client({ connectionString: await url });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const address = await url;
  return Array.from({ length: count }, () => {
    const s = openPostgresStores(address, { schema });
    closers.push(() => s.close());
    return s;
  });
}

describe("PostgreSQL schema migrations", () => {
  it("applies every store's steps once and says so, then finds nothing to do", async () => {
    url ??= freshDatabase("migrations");
    const schema = `m${++n}`;
    const admin = new pg.Client({ connectionString: await url });
    await admin.connect();
    closers.push(() => admin.end());
    await admin.query(`CREATE SCHEMA ${schema}`);
    const stores = openPostgresStores(await url, { schema });
    closers.push(() => stores.close());
    expect(await stores.migrate()).toEqual([
      {
        store: "audit",
        from: 0,
        to: 3,
        applied: ["decisions with their hash chain, the budget table and policy texts", "sticky identities and the time-window schedule", "workflow jobs"],
      },
      { store: "queue", from: 0, to: 1, applied: ["delivery queue with leases"] },
      { store: "check_runs", from: 0, to: 1, applied: ["check runs with owners and leases"] },
      { store: "budget", from: 0, to: 2, applied: ["budget reservations", "budget places by scope and window"] },
    ]);
    expect((await stores.migrate()).map((r) => r.applied)).toEqual([[], [], [], []]);
    const { rows } = await admin.query(`SELECT store, version FROM ${schema}.governor_migrations ORDER BY store, version`);
    expect(rows).toEqual([
      { store: "audit", version: 1 },
      { store: "audit", version: 2 },
      { store: "audit", version: 3 },
      { store: "budget", version: 1 },
      { store: "budget", version: 2 },
      { store: "check_runs", version: 1 },
      { store: "queue", version: 1 },
    ]);
  });

  it("applies each step once when three replicas migrate at the same moment", async () => {
    const replicas = await emptyPostgres(3);
    const reports = await Promise.all(replicas.map((r) => r.migrate()));
    expect(
      reports
        .flat()
        .filter((r) => r.applied.length > 0)
        .map((r) => r.store)
        .sort(),
    ).toEqual(["audit", "budget", "check_runs", "queue"]);
  });

  it("refuses a schema newer than this Governor knows", async () => {
    const [stores] = await emptyPostgres();
    await stores!.migrate();
    const admin = new pg.Client({ connectionString: await url });
    await admin.connect();
    await admin.query(`INSERT INTO m${n}.governor_migrations (store, version, name) VALUES ('queue', 2, 'from the future')`);
    await admin.end();
    const error = await stores!.migrate().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreSchemaError);
    expect((error as Error).message).toBe(
      "the queue schema in PostgreSQL is at version 2, newer than this Governor understands (1); upgrade Governor rather than risk the data",
    );
  });
});

describe("SQLite schema migrations", () => {
  it("reports what opening applied, and nothing on the next open", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "governor-migrate-")), "governor.db");
    const first = openSqliteStores(path);
    expect(first.migrations.map((m) => [m.store, m.from, m.to, m.applied.length])).toEqual([
      ["audit", 0, 7, 7],
      ["queue", 0, 2, 2],
      ["check_runs", 0, 1, 1],
      ["budget", 0, 1, 1],
    ]);
    await first.close();
    const second = openSqliteStores(path);
    expect(second.migrations.map((m) => m.applied)).toEqual([[], [], [], []]);
    await second.close();
  });

  it("refuses a store schema newer than this Governor knows", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "governor-migrate-")), "governor.db");
    await openSqliteStores(path).close();
    const db = new Database(path);
    db.prepare("INSERT INTO governor_migrations (store, version, name, applied_at) VALUES ('budget', 2, 'from the future', '')").run();
    db.close();
    expect(() => openSqliteStores(path)).toThrow("the budget schema in this SQLite file is at version 2, newer than this Governor understands (1)");
  });
});

describe("verify and triggers", () => {
  it("PostgreSQL verify refuses a trigger on the decisions table", async () => {
    const s = await postgresBackend.open();
    closers.push(() => s.close());
    await s.audit.append([entryFor({ pr: 1, files: ["docs/a.md"] })]);
    await s.sql(
      "CREATE FUNCTION keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$; CREATE TRIGGER sneaky BEFORE INSERT ON decisions FOR EACH ROW EXECUTE FUNCTION keep()",
    );
    expect((await s.audit.verify()).broken?.problem).toBe("the database has triggers Governor never creates (sneaky); they can alter rows as they are written");
  });

  it("PostgreSQL verify refuses a rule that rewrites writes to the decisions table", async () => {
    const s = await postgresBackend.open();
    closers.push(() => s.close());
    await s.sql("CREATE RULE drop_denials AS ON INSERT TO decisions WHERE NEW.outcome = 'denied' DO INSTEAD NOTHING");
    expect((await s.audit.verify()).broken?.problem).toBe(
      "the database has rules Governor never creates (drop_denials); they can rewrite rows as they are written",
    );
  });

  it("SQLite verify refuses a trigger, as AuditStore always has", async () => {
    const s = await sqliteBackend.open();
    closers.push(() => s.close());
    await s.sql("CREATE TRIGGER sneaky AFTER INSERT ON decisions BEGIN SELECT 1; END");
    expect((await s.audit.verify()).broken?.problem).toMatch(/^the file has triggers Governor never creates \(sneaky\)/);
  });
});

describe("the PostgreSQL test server", () => {
  it("fails with the reason when the server binaries are not there", async () => {
    const saved = process.env["PG_BIN"];
    process.env["PG_BIN"] = "/nonexistent/bin";
    try {
      await expect(startPostgres()).rejects.toThrow(/^initdb failed/);
    } finally {
      if (saved === undefined) delete process.env["PG_BIN"];
      else process.env["PG_BIN"] = saved;
    }
  });
});
