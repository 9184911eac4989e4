// Every store on one PostgreSQL pool: what a replica opens when DATABASE_URL names PostgreSQL.
import pg from "pg";
import { StoreError } from "../errors.js";
import type { AuditLog, BudgetCounter, CheckRunLeases, CommitLocks, DeliveryQueue, MigrationReport } from "../ports.js";
import { PostgresCommitLocks } from "./commit-lock.js";
import { PostgresAuditLog } from "./audit-log.js";
import { PostgresBudgetCounter } from "./budget-counter.js";
import { PostgresCheckRunLeases } from "./check-run-leases.js";
import { PostgresDeliveryQueue } from "./delivery-queue.js";

export interface PostgresStores {
  audit: AuditLog;
  queue: DeliveryQueue;
  checkRuns: CheckRunLeases;
  budget: BudgetCounter;
  locks: CommitLocks;
  /** Brings every store's schema up to date (each in its own transaction); what was applied, per store. */
  migrate(): Promise<MigrationReport[]>;
  close(): Promise<void>;
}

export interface PostgresOptions {
  /** Connections in this process's pool. */
  max?: number;
  /** Connections for per-commit locks, apart from the pool (default 10): at most this many commits locked at once. */
  lockConnections?: number;
  /** A schema of its own (e.g. one per deployment); it must exist. Default: the database's search_path. */
  schema?: string;
  now?: () => Date;
  /** An idle connection broke (a restarted server): logged, the pool reconnects on next use. */
  onError?: (error: Error) => void;
}

export function openPostgresStores(url: string, opts: PostgresOptions = {}): PostgresStores {
  if (opts.schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(opts.schema)) {
    throw new StoreError(`schema ${JSON.stringify(opts.schema)} is not a plain lower-case identifier`, "postgres", "open");
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    ...(opts.schema !== undefined ? { options: `-c search_path=${opts.schema}` } : {}),
  });
  // Without a listener an idle connection's error would take the process down.
  pool.on("error", (error) => opts.onError?.(error));
  const now = opts.now ?? (() => new Date());
  const audit = new PostgresAuditLog(pool);
  const queue = new PostgresDeliveryQueue(pool, now);
  const checkRuns = new PostgresCheckRunLeases(pool, now);
  const budget = new PostgresBudgetCounter(pool);
  const lockPool = new pg.Pool({
    connectionString: url,
    max: opts.lockConnections ?? 10,
    ...(opts.schema !== undefined ? { options: `-c search_path=${opts.schema}` } : {}),
  });
  lockPool.on("error", (error) => opts.onError?.(error));
  const locks = new PostgresCommitLocks(lockPool);
  return {
    audit,
    queue,
    checkRuns,
    budget,
    locks,
    async migrate() {
      return [await audit.migrate(), await queue.migrate(), await checkRuns.migrate(), await budget.migrate()];
    },
    close: async () => {
      await lockPool.end();
      await pool.end();
    },
  };
}
