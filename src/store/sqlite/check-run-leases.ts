// The check-run ledger with owners and leases in SQLite: a table of its own beside src/server/check-run-ledger.ts's.
import type Database from "better-sqlite3";
import { KEEP_CLOSED_MS, viewOpenRuns } from "../check-run-view.js";
import type { CheckRunLeases, MigrationReport, OpenCheckRuns } from "../ports.js";
import { migrateSqlite, type SqliteMigration } from "./migrate.js";
import { canSyncWal, syncWal, withoutFsync } from "./without-fsync.js";

export const SQLITE_LEDGER_MIGRATIONS: readonly SqliteMigration[] = [
  {
    name: "check runs with owners and leases",
    sql: `
      CREATE TABLE check_run_leases (
        token INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL,
        check_run_id INTEGER,
        closed INTEGER NOT NULL DEFAULT 0,
        owner TEXT NOT NULL,
        lease_expires_at INTEGER NOT NULL,
        at INTEGER NOT NULL
      );
      CREATE INDEX check_run_leases_open ON check_run_leases (key, closed);
      CREATE INDEX check_run_leases_owner ON check_run_leases (owner, closed);
    `,
  },
];

export class SqliteCheckRunLeases implements CheckRunLeases {
  readonly kind = "sqlite" as const;
  readonly migrated: MigrationReport;
  private readonly statements;
  private writes = 0;
  /** An intent is made durable by an fsync of the WAL off the event loop (a file in WAL mode), else by a FULL commit. */
  private readonly walSync: boolean;

  constructor(
    private readonly db: Database.Database,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.migrated = migrateSqlite(db, "check_runs", SQLITE_LEDGER_MIGRATIONS);
    this.walSync = canSyncWal(db);
    this.statements = {
      open: db.prepare("SELECT check_run_id, owner, lease_expires_at FROM check_run_leases WHERE key = ? AND closed = 0 ORDER BY token"),
      intend: db.prepare("INSERT INTO check_run_leases (key, owner, lease_expires_at, at) VALUES (?, ?, ?, ?)"),
      started: db.prepare("UPDATE check_run_leases SET check_run_id = ? WHERE token = ?"),
      heartbeat: db.prepare("UPDATE check_run_leases SET lease_expires_at = ? WHERE owner = ? AND closed = 0"),
      closed: db.prepare("UPDATE check_run_leases SET closed = 1 WHERE key = ? AND check_run_id = ?"),
      resolved: db.prepare(
        "UPDATE check_run_leases SET closed = 1 WHERE key = @key AND check_run_id IS NULL AND closed = 0 AND (owner = @owner OR lease_expires_at <= @now)",
      ),
      prune: db.prepare("DELETE FROM check_run_leases WHERE closed = 1 AND at < ?"),
    };
  }

  async migrate(): Promise<MigrationReport> {
    return migrateSqlite(this.db, "check_runs", SQLITE_LEDGER_MIGRATIONS);
  }

  async open(key: string, owner: string): Promise<OpenCheckRuns> {
    const rows = this.statements.open.all(key) as Array<{ check_run_id: number | null; owner: string; lease_expires_at: number }>;
    return viewOpenRuns(
      rows.map((r) => ({ checkRunId: r.check_run_id, owner: r.owner, leaseExpiresAt: r.lease_expires_at })),
      owner,
      this.now().getTime(),
    );
  }

  async intend(key: string, owner: string, leaseMs: number): Promise<number> {
    const now = this.now().getTime();
    if (++this.writes % 1000 === 0) this.statements.prune.run(now - KEEP_CLOSED_MS);
    const write = () => Number(this.statements.intend.run(key, owner, now + leaseMs, now).lastInsertRowid);
    if (!this.walSync) return write();
    // Durable before the run is created, its fsync off the event loop (see syncWal).
    const token = withoutFsync(this.db, write);
    await syncWal(this.db);
    return token;
  }

  // `intend` is durable before the run is created on GitHub (it is what lets a restart find the run). The run's id and
  // its closing need no fsync of their own: lost to a power cut, the start is resolved or closed again, as after a
  // process killed between the GitHub call and this write.
  async started(token: number, id: number): Promise<void> {
    withoutFsync(this.db, () => this.statements.started.run(id, token));
  }

  async heartbeat(owner: string, leaseMs: number): Promise<number> {
    return this.statements.heartbeat.run(this.now().getTime() + leaseMs, owner).changes;
  }

  async closed(key: string, id: number): Promise<void> {
    withoutFsync(this.db, () => this.statements.closed.run(key, id));
  }

  async resolved(key: string, owner: string): Promise<void> {
    this.statements.resolved.run({ key, owner, now: this.now().getTime() });
  }
}
