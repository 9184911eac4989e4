// Which store a process uses: PostgreSQL when DATABASE_URL names one (several replicas), else the SQLite file.
import { StoreError } from "./errors.js";
import type { AuditLog, BudgetCounter, CheckRunLeases, CommitLocks, DeliveryQueue, MigrationReport } from "./ports.js";
import { openPostgresStores, type PostgresOptions } from "./postgres/index.js";
import { openSqliteStores } from "./sqlite/index.js";

export interface Stores {
  kind: "sqlite" | "postgres";
  audit: AuditLog;
  queue: DeliveryQueue;
  checkRuns: CheckRunLeases;
  budget: BudgetCounter;
  locks: CommitLocks;
  /**
   * Brings every store's schema up to date and says what was applied. PostgreSQL needs it before first use (replicas
   * may all call it: each step is applied once); SQLite stores migrate as they open, and the first call reports that.
   */
  migrate(): Promise<MigrationReport[]>;
  close(): Promise<void>;
}

export interface StoreLocation {
  /** `postgres://…` or `postgresql://…`: PostgreSQL. */
  databaseUrl?: string;
  /** The SQLite file, when no DATABASE_URL is given. */
  databasePath: string;
}

export function openStores(where: StoreLocation, opts: PostgresOptions = {}): Stores {
  if (where.databaseUrl !== undefined && where.databaseUrl !== "") {
    if (!/^postgres(ql)?:\/\//.test(where.databaseUrl)) {
      // Never fall back to the SQLite file: replicas that each wrote a file of their own would fork the trail.
      throw new StoreError(
        `DATABASE_URL must be a postgres:// or postgresql:// URL (got ${where.databaseUrl.split(":")[0]}:…); unset it to use the SQLite file`,
        "postgres",
        "open",
      );
    }
    return { kind: "postgres", ...openPostgresStores(where.databaseUrl, opts) };
  }
  const s = openSqliteStores(where.databasePath, opts.now ? { now: opts.now } : {});
  let opened: MigrationReport[] | undefined = s.migrations;
  return {
    kind: "sqlite",
    audit: s.audit,
    queue: s.queue,
    checkRuns: s.checkRuns,
    budget: s.budget,
    close: () => s.close(),
    // One process per file: GovernorState already serialises a commit's reports within it.
    locks: { kind: "sqlite", withLock: (_key, fn) => fn() },
    async migrate() {
      const first = opened;
      opened = undefined;
      return first ?? [await s.audit.migrate(), await s.queue.migrate(), await s.checkRuns.migrate(), await s.budget.migrate()];
    },
  };
}
