// Budget reservations in SQLite: count and insert in one immediate transaction, so processes on one file reserving at
// once get distinct, consecutive positions. They live in the audit file's agent_budget_places (scope = the repository),
// the table AuditStore.verify checks every recorded position against; budget_reservations (migration 1) stays unused.
// Places by scope and window (reservePlaces) are the AuditStore's own, so the positions verify checks are its rules.
// Decisions reserving in the same turn of the event loop share one immediate transaction, in the order they asked;
// each caller hears its places only once it has committed. It commits without an fsync of its own (synchronous=NORMAL,
// WAL; a killed process loses nothing of it): what depends on a place is a decision, and the decision's audit row is a
// later FULL commit on the same WAL, whose fsync makes the place durable first. A power cut before that loses only
// places that no recorded decision, and so no check, used; their PRs are evaluated again and reserve again.
import type Database from "better-sqlite3";
import type { AuditStore } from "../../audit/store.js";
import type { BudgetCounter, BudgetPlaces, MigrationReport, Reservation } from "../ports.js";
import { migrateSqlite, type SqliteMigration } from "./migrate.js";
import { withoutFsync } from "./without-fsync.js";

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

type PlacesQuery = Parameters<BudgetCounter["reservePlaces"]>[0];

interface WaitingPlaces {
  q: PlacesQuery;
  resolve: (places: BudgetPlaces) => void;
  reject: (error: unknown) => void;
}

export interface SqliteBudgetOptions {
  /** Called after each shared reservation transaction committed, with how many reservations it held (tests, metrics). */
  onCommit?: (batch: { callers: number }) => void;
}

export class SqliteBudgetCounter implements BudgetCounter {
  readonly kind = "sqlite" as const;
  readonly migrated: MigrationReport;
  private readonly statements;
  /** reservePlaces calls of this turn of the event loop, reserved together by `flushPlaces`. */
  private waiting: WaitingPlaces[] = [];

  constructor(
    private readonly db: Database.Database,
    private readonly store: AuditStore,
    private readonly opts: SqliteBudgetOptions = {},
  ) {
    this.migrated = migrateSqlite(db, "budget", SQLITE_BUDGET_MIGRATIONS);
    this.statements = {
      find: db.prepare("SELECT position FROM agent_budget_places WHERE scope = ? AND agent = ? AND repo = ? AND pr = ?"),
      // No upper bound: a PR opened earlier but reserved later still counts those reserved before it (a staggered burst).
      count: db.prepare(
        "SELECT count(*) AS n FROM agent_budget_places WHERE scope = @scope AND agent = @agent AND NOT (repo = @scope AND pr = @pr) AND opened_at > @since",
      ),
      // A place of this generic kind is its scope's own (repo = scope), as places of the repository scope are.
      insert: db.prepare("INSERT INTO agent_budget_places (scope, repo, agent, pr, opened_at, position) VALUES (@scope, @scope, @agent, @pr, @at, @position)"),
    };
  }

  async migrate(): Promise<MigrationReport> {
    return migrateSqlite(this.db, "budget", SQLITE_BUDGET_MIGRATIONS);
  }

  async reserve(r: Reservation): Promise<number> {
    const s = this.statements;
    return this.db
      .transaction(() => {
        const existing = s.find.get(r.scope, r.agent, r.scope, r.pr) as { position: number } | undefined;
        if (existing) return existing.position;
        const at = r.at.getTime();
        const since = new Date(at - r.windowMs).toISOString();
        const position = (s.count.get({ scope: r.scope, agent: r.agent, pr: r.pr, since }) as { n: number }).n + 1;
        s.insert.run({ scope: r.scope, agent: r.agent, pr: r.pr, at: r.at.toISOString(), position });
        return position;
      })
      .immediate();
  }

  reservePlaces(q: PlacesQuery): Promise<BudgetPlaces> {
    return new Promise((resolve, reject) => {
      // setImmediate runs after this turn's I/O callbacks: decisions that reach their budgets together share the commit.
      if (this.waiting.push({ q, resolve, reject }) === 1) setImmediate(() => this.flushPlaces());
    });
  }

  /**
   * One immediate transaction on the audit file for every waiting reservation; each is a savepoint of its own
   * (AuditStore.reservePlaces nests), so one that fails (a bad opening time) is undone alone and only its caller
   * hears the error. If the transaction itself fails, nothing of it was written and every caller is rejected.
   */
  private flushPlaces(): void {
    const batch = this.waiting;
    this.waiting = [];
    const db = this.store.db;
    let results: Array<{ places: BudgetPlaces } | { error: unknown }>;
    try {
      results = withoutFsync(db, () =>
        db
          .transaction(() =>
            batch.map((w) => {
              try {
                return { places: this.store.reservePlaces(w.q) };
              } catch (error) {
                // SQLite may have rolled the whole transaction back (disk full, I/O): then no place of the batch stands.
                if (!db.inTransaction) throw error;
                return { error };
              }
            }),
          )
          .immediate(),
      );
    } catch (error) {
      for (const w of batch) w.reject(error);
      return;
    }
    try {
      this.opts.onCommit?.({ callers: batch.length });
    } catch {
      // An observer's failure must not strand the callers: their places are committed either way.
    }
    batch.forEach((w, i) => {
      const r = results[i]!;
      if ("places" in r) w.resolve(r.places);
      else w.reject(r.error);
    });
  }

  async budgetPeaks(now: Date): Promise<Array<{ agent: string; scope: "repo" | "org"; prs: number }>> {
    return this.store.budgetPeaks(now);
  }
}
