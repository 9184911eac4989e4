// The check runs Governor created, by repo and commit, in its SQLite file: a restarted process knows which commits
// have a run (and its id) and which never had one, so it asks GitHub only where a crash left the answer open.
import type Database from "better-sqlite3";
import type { CheckRunLedger } from "../github/ports.js";

/**
 * Entries older than this are dropped. A commit evaluated again after that is taken as never checked: a second run is
 * created and completed, and GitHub shows the newest, so the cost is an extra completed run on a year-old commit.
 */
const KEEP_DAYS = 365;

export class SqliteCheckRunLedger implements CheckRunLedger {
  private readonly select: Database.Statement;
  private readonly insertIntent: Database.Statement;
  private readonly upsertId: Database.Statement;
  private readonly prune: Database.Statement;
  private readonly known = new Map<string, number>();
  private writes = 0;

  constructor(db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS check_runs (
      key TEXT PRIMARY KEY,
      check_run_id INTEGER,
      at TEXT NOT NULL
    ) WITHOUT ROWID`);
    this.select = db.prepare("SELECT check_run_id FROM check_runs WHERE key = ?");
    this.insertIntent = db.prepare("INSERT OR IGNORE INTO check_runs (key, check_run_id, at) VALUES (?, NULL, ?)");
    this.upsertId = db.prepare("INSERT INTO check_runs (key, check_run_id, at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET check_run_id = excluded.check_run_id");
    this.prune = db.prepare("DELETE FROM check_runs WHERE at < ?");
  }

  lookup(key: string): number | "ask" | "none" {
    const cached = this.known.get(key);
    if (cached !== undefined) return cached;
    const row = this.select.get(key) as { check_run_id: number | null } | undefined;
    if (!row) return "none";
    if (row.check_run_id === null) return "ask"; // a create was started and its answer never recorded
    this.remember(key, row.check_run_id);
    return row.check_run_id;
  }

  intend(key: string): void {
    this.insertIntent.run(key, new Date().toISOString());
    if (++this.writes % 1000 === 0) this.prune.run(new Date(Date.now() - KEEP_DAYS * 86_400_000).toISOString());
  }

  record(key: string, id: number): void {
    this.upsertId.run(key, id, new Date().toISOString());
    this.remember(key, id);
  }

  private remember(key: string, id: number): void {
    this.known.set(key, id);
    if (this.known.size > 10_000) this.known.delete(this.known.keys().next().value as string);
  }
}
