// Every store in one SQLite file: the embedded default (the audit tables as today, the new tables beside them).
import Database from "better-sqlite3";
import { openAuditStore } from "../../audit/store.js";
import type { AuditReader, MigrationReport, Stores } from "../ports.js";
import { openSqliteAuditLog, SqliteAuditLog } from "./audit-log.js";
import { SqliteBudgetCounter } from "./budget-counter.js";
import { SqliteCheckRunLeases } from "./check-run-leases.js";
import { SqliteDeliveryQueue } from "./delivery-queue.js";
import { canSyncWal, releaseWal, syncWal, withoutFsync } from "./without-fsync.js";

export interface SqliteStores extends Stores {
  kind: "sqlite";
  /** What opening did to each store's schema (SQLite stores migrate when opened). */
  migrations: MigrationReport[];
}

/**
 * The audit log whose appends are durable off the event loop: each append commits relaxed (NORMAL, which a killed
 * process loses nothing of), then resolves only after an fsync of the WAL on libuv's thread pool (`syncWal`), so a
 * decision is on disk before its check is reported, as with FULL, without the event loop waiting for the disk.
 * Everything else is the log's own (FULL).
 */
function appendsSyncedOffLoop(log: SqliteAuditLog): SqliteAuditLog {
  const db = log.store.db;
  if (!canSyncWal(db)) return log;
  const wrapped = Object.create(log) as SqliteAuditLog;
  wrapped.append = async (entries) => {
    // The append's transaction runs when it is called (before its first await), so it is the one relaxed here.
    const rows = await withoutFsync(db, () => log.append(entries));
    if (rows.length > 0) await syncWal(db);
    return rows;
  };
  return wrapped;
}

export function openSqliteStores(path: string, opts: { now?: () => Date } = {}): SqliteStores {
  const opened = openSqliteAuditLog(path);
  const { migration } = opened;
  const log = appendsSyncedOffLoop(opened.log);
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
        await releaseWal(db);
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
