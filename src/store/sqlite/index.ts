// Every store in one SQLite file: the embedded default (the audit tables as today, the new tables beside them).
import Database from "better-sqlite3";
import type { AuditLog, BudgetCounter, CheckRunLeases, DeliveryQueue, MigrationReport } from "../ports.js";
import { openSqliteAuditLog } from "./audit-log.js";
import { SqliteBudgetCounter } from "./budget-counter.js";
import { SqliteCheckRunLeases } from "./check-run-leases.js";
import { SqliteDeliveryQueue } from "./delivery-queue.js";

export interface SqliteStores {
  audit: AuditLog;
  queue: DeliveryQueue;
  checkRuns: CheckRunLeases;
  budget: BudgetCounter;
  /** What opening did to each store's schema (SQLite stores migrate when opened). */
  migrations: MigrationReport[];
  close(): Promise<void>;
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
    return {
      audit: log,
      queue,
      checkRuns,
      budget,
      migrations: [migration, queue.migrated, checkRuns.migrated, budget.migrated],
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
