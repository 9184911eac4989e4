// The check runs Governor started, by repo and commit, in its SQLite file: a restarted process knows which runs were
// left in progress (to close them) and whether a create's answer was lost (then GitHub is asked).
import type Database from "better-sqlite3";
import type { CheckRunLedger } from "../github/ports.js";

/** Completed entries older than this are dropped; open ones are kept until closed. */
const KEEP_DAYS = 30;

export class SqliteCheckRunLedger implements CheckRunLedger {
  private readonly selectOpen: Database.Statement;
  private readonly insertIntent: Database.Statement;
  private readonly setId: Database.Statement;
  private readonly close: Database.Statement;
  private readonly clearUnknown: Database.Statement;
  private readonly prune: Database.Statement;
  private writes = 0;

  constructor(db: Database.Database) {
    // A ledger from a pre-release build (one row per commit) is replaced: it only ever spares GitHub lookups.
    const columns = db.prepare("PRAGMA table_info(check_runs)").all() as Array<{ name: string }>;
    if (columns.length > 0 && !columns.some((c) => c.name === "token")) db.exec("DROP TABLE check_runs");
    db.exec(`CREATE TABLE IF NOT EXISTS check_runs (
      token INTEGER PRIMARY KEY AUTOINCREMENT,
      key TEXT NOT NULL,
      check_run_id INTEGER,
      closed INTEGER NOT NULL DEFAULT 0,
      at TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS check_runs_open ON check_runs (key, closed);`);
    this.selectOpen = db.prepare("SELECT check_run_id FROM check_runs WHERE key = ? AND closed = 0");
    this.insertIntent = db.prepare("INSERT INTO check_runs (key, at) VALUES (?, ?)");
    this.setId = db.prepare("UPDATE check_runs SET check_run_id = ? WHERE token = ?");
    this.close = db.prepare("UPDATE check_runs SET closed = 1 WHERE key = ? AND check_run_id = ?");
    this.clearUnknown = db.prepare("UPDATE check_runs SET closed = 1 WHERE key = ? AND check_run_id IS NULL");
    this.prune = db.prepare("DELETE FROM check_runs WHERE closed = 1 AND at < ?");
  }

  open(key: string): { ids: number[]; unknown: boolean } {
    const rows = this.selectOpen.all(key) as Array<{ check_run_id: number | null }>;
    return { ids: rows.flatMap((r) => (r.check_run_id === null ? [] : [r.check_run_id])), unknown: rows.some((r) => r.check_run_id === null) };
  }

  intend(key: string): number {
    if (++this.writes % 1000 === 0) this.prune.run(new Date(Date.now() - KEEP_DAYS * 86_400_000).toISOString());
    return Number(this.insertIntent.run(key, new Date().toISOString()).lastInsertRowid);
  }

  started(token: number, id: number): void {
    this.setId.run(id, token);
  }

  closed(key: string, id: number): void {
    this.close.run(key, id);
  }

  resolved(key: string): void {
    this.clearUnknown.run(key);
  }
}
