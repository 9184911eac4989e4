// DATABASE_URL selects PostgreSQL; nothing (or DATABASE_PATH) keeps SQLite; anything else is refused, never ignored.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import pg from "pg";
import { openAuditReader, openStores } from "../../src/store/open.js";
import { freshDatabase } from "../helpers/postgres.js";

const file = () => join(mkdtempSync(join(tmpdir(), "governor-open-")), "governor.db");

describe("openStores", () => {
  it("keeps SQLite without a DATABASE_URL, and reports what opening migrated once", async () => {
    const stores = openStores({ databasePath: file() });
    expect(stores.kind).toBe("sqlite");
    expect((await stores.migrate()).map((m) => m.applied.length > 0)).toEqual([true, true, true, true]);
    expect((await stores.migrate()).map((m) => m.applied)).toEqual([[], [], [], []]);
    await stores.close();
  });

  it("uses PostgreSQL for a postgres:// DATABASE_URL", async () => {
    const stores = openStores({ databaseUrl: await freshDatabase("open"), databasePath: file() });
    expect(stores.kind).toBe("postgres");
    expect((await stores.migrate()).map((m) => m.store)).toEqual(["audit", "queue", "check_runs", "budget"]);
    expect(await stores.audit.count()).toBe(0);
    await stores.close();
  });

  it("refuses a DATABASE_URL that is not PostgreSQL rather than falling back to the file", () => {
    expect(() => openStores({ databaseUrl: "mysql://db/governor", databasePath: file() })).toThrow(
      "DATABASE_URL must be a postgres:// or postgresql:// URL (got mysql:…); unset it to use the SQLite file",
    );
  });
});

describe("openAuditReader", () => {
  it("refuses a PostgreSQL trail whose schema is behind this Governor's, naming governor migrate, and migrates nothing", async () => {
    const url = await freshDatabase("reader_behind");
    const stores = openStores({ databaseUrl: url, databasePath: file() });
    await stores.migrate();
    await stores.close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query("DELETE FROM governor_migrations WHERE store = 'audit' AND version = 3");
      await expect(openAuditReader({ databaseUrl: url, databasePath: file() })).rejects.toThrow(
        "the audit schema in PostgreSQL is at version 2, older than this Governor's (3); upgrade it first with: governor migrate",
      );
      const { rows } = await client.query<{ n: number }>("SELECT count(*)::integer AS n FROM governor_migrations WHERE store = 'audit'");
      expect(rows[0]?.n).toBe(2);
    } finally {
      await client.end();
    }
  });

  it("reads a current PostgreSQL trail through the same AuditLog port as serve writes it", async () => {
    const url = await freshDatabase("reader_current");
    const stores = openStores({ databaseUrl: url, databasePath: file() });
    await stores.migrate();
    await stores.close();
    const reader = await openAuditReader({ databaseUrl: url, databasePath: file() });
    expect([reader.kind, await reader.audit.count()]).toEqual(["postgres", 0]);
    await reader.close();
  });
});
