// Every store in one SQLite file: the embedded default (the audit tables as today, the new tables beside them).
import Database from "better-sqlite3";
import { openAuditStore } from "../../audit/store.js";
import type { AuditReader, MigrationReport, Stores } from "../ports.js";
import { openSqliteAuditLog, SqliteAuditLog } from "./audit-log.js";
import { SqliteBudgetCounter } from "./budget-counter.js";
import { SqliteCheckRunLeases } from "./check-run-leases.js";
import { SqliteDeliveryQueue } from "./delivery-queue.js";

export interface SqliteStores extends Stores {
  kind: "sqlite";
  /** What opening did to each store's schema (SQLite stores migrate when opened). */
  migrations: MigrationReport[];
}

export function openSqliteStores(path: string, opts: { now?: () => Date } = {}): SqliteStores {
  const { log, migration } = openSqliteAuditLog(path);
  // A second connection for the queue and ledgers, as start.ts keeps the inbox apart from the audit store's.
  const db = new Database(path);
  try {
    db.pragma("journal_mode = WAL");
    // FULL: a lease or a budget position is durable before the work it allows is started.
    db.pragma("synchronous = FULL");
    db.pragma("busy_timeout = 5000");
    const queue = new SqliteDeliveryQueue(db, opts.now);
    const checkRuns = new SqliteCheckRunLeases(db, opts.now);
    const budget = new SqliteBudgetCounter(db, log.store);
    const migrations = [migration, queue.migrated, checkRuns.migrated, budget.migrated];
    let unreported: MigrationReport[] | undefined = migrations;
    return {
      kind: "sqlite",
      audit: log,
      queue,
      checkRuns,
      budget,
      // One process per file: GovernorState already serialises a commit's reports within it.
      locks: { kind: "sqlite", withLock: (_key, fn) => fn() },
      migrations,
      async migrate() {
        // Opening migrated: the first call reports what it did, later ones find every schema current.
        const first = unreported;
        unreported = undefined;
        return first ?? [await log.migrate(), await queue.migrate(), await checkRuns.migrate(), await budget.migrate()];
      },
      async close() {
        db.close();
        log.store.close();
      },
    };
  } catch (error) {
    db.close();
    log.store.close();
    throw error;
  }
}

/** The audit file read-only, at the current schema (AuditSchemaError otherwise): reading never changes it. */
export function openSqliteReader(path: string): AuditReader {
  const log = new SqliteAuditLog(openAuditStore(path, { readonly: true }));
  return { kind: "sqlite", audit: log, close: async () => log.store.close() };
}
