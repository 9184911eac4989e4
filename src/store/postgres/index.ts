// Every store on one PostgreSQL pool: what a replica opens when DATABASE_URL names PostgreSQL.
import pg from "pg";
import { StoreError } from "../errors.js";
import { StoreSchemaError } from "../errors.js";
import type { AuditReader, MigrationReport, Stores } from "../ports.js";
import { PostgresCommitLocks } from "./commit-lock.js";
import { AUDIT_MIGRATIONS, PostgresAuditLog } from "./audit-log.js";
import { BUDGET_MIGRATIONS, PostgresBudgetCounter } from "./budget-counter.js";
import { LEDGER_MIGRATIONS, PostgresCheckRunLeases } from "./check-run-leases.js";
import { PostgresDeliveryQueue, QUEUE_MIGRATIONS } from "./delivery-queue.js";
import { pendingMigrations } from "./migrate.js";

export interface PostgresStores extends Stores {
  kind: "postgres";
  /** What `migrate()` would apply now, per store, without applying it (`applied`: the steps still to apply). */
  pending(): Promise<MigrationReport[]>;
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

/** A pool on `url`; without an error listener an idle connection's error would take the process down. */
function poolOf(url: string, max: number, opts: PostgresOptions): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, ...(opts.schema !== undefined ? { options: `-c search_path=${opts.schema}` } : {}) });
  pool.on("error", (error) => opts.onError?.(error));
  return pool;
}

export function openPostgresStores(url: string, opts: PostgresOptions = {}): PostgresStores {
  if (opts.schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(opts.schema)) {
    throw new StoreError(`schema ${JSON.stringify(opts.schema)} is not a plain lower-case identifier`, "postgres", "open");
  }
  // Pools connect on first use: a reader that never takes a commit lock never opens the lock pool's connections.
  const pool = poolOf(url, opts.max ?? 10, opts);
  const lockPool = poolOf(url, opts.lockConnections ?? 10, opts);
  const now = opts.now ?? (() => new Date());
  const audit = new PostgresAuditLog(pool);
  const queue = new PostgresDeliveryQueue(pool, now);
  const checkRuns = new PostgresCheckRunLeases(pool, now);
  const budget = new PostgresBudgetCounter(pool);
  return {
    kind: "postgres",
    audit,
    queue,
    checkRuns,
    budget,
    locks: new PostgresCommitLocks(lockPool),
    async migrate() {
      return [await audit.migrate(), await queue.migrate(), await checkRuns.migrate(), await budget.migrate()];
    },
    async pending() {
      return [
        await pendingMigrations(pool, "audit", AUDIT_MIGRATIONS),
        await pendingMigrations(pool, "queue", QUEUE_MIGRATIONS),
        await pendingMigrations(pool, "check_runs", LEDGER_MIGRATIONS),
        await pendingMigrations(pool, "budget", BUDGET_MIGRATIONS),
      ];
    },
    close: async () => {
      await lockPool.end();
      await pool.end();
    },
  };
}

/**
 * The trail for reading: the audit and budget schemas (what the readers query) must be current, since a reader never
 * migrates; a database behind, or one without a trail, is a StoreSchemaError that says what to run.
 */
export async function openPostgresReader(url: string): Promise<AuditReader> {
  const stores = openPostgresStores(url, { max: 2, lockConnections: 1 });
  try {
    for (const m of await stores.pending()) {
      if (m.store !== "audit" && m.store !== "budget") continue;
      if (m.from === 0)
        throw new StoreSchemaError(
          `the PostgreSQL database has no Governor ${m.store} schema: run governor migrate (or governor audit copy) against it first`,
          m.store,
          0,
          m.to,
        );
      if (m.from < m.to)
        throw new StoreSchemaError(
          `the ${m.store} schema in PostgreSQL is at version ${m.from}, older than this Governor's (${m.to}); upgrade it first with: governor migrate`,
          m.store,
          m.from,
          m.to,
        );
    }
  } catch (error) {
    await stores.close();
    throw error;
  }
  return { kind: "postgres", audit: stores.audit, close: () => stores.close() };
}
