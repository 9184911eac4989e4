// The new SQLite stores' schemas, versioned in governor_migrations as in PostgreSQL (the audit tables keep their own
// user_version, src/audit/schema.ts). Each step runs in an immediate transaction, after reading the version again.
import type Database from "better-sqlite3";
import { StoreSchemaError } from "../errors.js";
import type { MigrationReport } from "../ports.js";

export interface SqliteMigration {
  name: string;
  sql: string;
}

export function migrateSqlite(db: Database.Database, store: string, steps: readonly SqliteMigration[]): MigrationReport {
  // The ledger of migrations is the one table made "if missing": it is what tells every other table's version.
  db.exec(`CREATE TABLE IF NOT EXISTS governor_migrations (store TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL,
    applied_at TEXT NOT NULL, PRIMARY KEY (store, version))`);
  const version = db.prepare("SELECT coalesce(max(version), 0) AS v FROM governor_migrations WHERE store = ?");
  const record = db.prepare("INSERT INTO governor_migrations (store, version, name, applied_at) VALUES (?, ?, ?, ?)");
  const from = (version.get(store) as { v: number }).v;
  if (from > steps.length) {
    throw new StoreSchemaError(
      `the ${store} schema in this SQLite file is at version ${from}, newer than this Governor understands (${steps.length}); upgrade Governor rather than risk the data`,
      store,
      from,
      steps.length,
    );
  }
  const applied: string[] = [];
  for (let v = from; v < steps.length; v++) {
    const step = steps[v] as SqliteMigration;
    db.transaction(() => {
      // Another process may have taken this step already: read again under the write lock.
      if ((version.get(store) as { v: number }).v !== v) return;
      db.exec(step.sql);
      record.run(store, v + 1, step.name, new Date().toISOString());
      applied.push(step.name);
    }).immediate();
  }
  return { store, from, to: steps.length, applied };
}
