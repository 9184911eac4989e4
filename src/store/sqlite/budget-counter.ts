// Budget reservations in SQLite: count and insert in one immediate transaction, so processes on one file reserving at
// once get distinct, consecutive positions.
import type Database from "better-sqlite3";
import type { BudgetCounter, MigrationReport, Reservation } from "../ports.js";
import { migrateSqlite, type SqliteMigration } from "./migrate.js";

export const SQLITE_BUDGET_MIGRATIONS: readonly SqliteMigration[] = [
  {
    name: "budget reservations",
    sql: `
      CREATE TABLE budget_reservations (
        scope TEXT NOT NULL,
        agent TEXT NOT NULL,
        pr INTEGER NOT NULL,
        at INTEGER NOT NULL,
        position INTEGER NOT NULL,
        PRIMARY KEY (scope, agent, pr)
      ) WITHOUT ROWID;
      CREATE INDEX budget_reservations_window ON budget_reservations (scope, agent, at);
    `,
  },
];

export class SqliteBudgetCounter implements BudgetCounter {
  readonly kind = "sqlite" as const;
  readonly migrated: MigrationReport;
  private readonly statements;

  constructor(private readonly db: Database.Database) {
    this.migrated = migrateSqlite(db, "budget", SQLITE_BUDGET_MIGRATIONS);
    this.statements = {
      find: db.prepare("SELECT position FROM budget_reservations WHERE scope = ? AND agent = ? AND pr = ?"),
      count: db.prepare("SELECT count(*) AS n FROM budget_reservations WHERE scope = @scope AND agent = @agent AND pr <> @pr AND at BETWEEN @since AND @at"),
      insert: db.prepare("INSERT INTO budget_reservations (scope, agent, pr, at, position) VALUES (@scope, @agent, @pr, @at, @position)"),
    };
  }

  async migrate(): Promise<MigrationReport> {
    return migrateSqlite(this.db, "budget", SQLITE_BUDGET_MIGRATIONS);
  }

  async reserve(r: Reservation): Promise<number> {
    const s = this.statements;
    return this.db.transaction(() => {
      const existing = s.find.get(r.scope, r.agent, r.pr) as { position: number } | undefined;
      if (existing) return existing.position;
      const at = r.at.getTime();
      const position = (s.count.get({ scope: r.scope, agent: r.agent, pr: r.pr, since: at - r.windowMs, at }) as { n: number }).n + 1;
      s.insert.run({ scope: r.scope, agent: r.agent, pr: r.pr, at, position });
      return position;
    }).immediate();
  }
}
