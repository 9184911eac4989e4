// Budget reservations in PostgreSQL: the count and the insert of one (scope, agent) happen under a transaction-scoped
// advisory lock on that pair, so replicas reserving at once get distinct, consecutive positions.
import type pg from "pg";
import { inContext } from "../errors.js";
import type { BudgetCounter, MigrationReport, Reservation } from "../ports.js";
import { migrate, transaction, type Migration } from "./migrate.js";

export const BUDGET_MIGRATIONS: readonly Migration[] = [
  {
    name: "budget reservations",
    sql: `
      CREATE TABLE budget_reservations (
        scope TEXT COLLATE "C" NOT NULL,
        agent TEXT COLLATE "C" NOT NULL,
        pr INTEGER NOT NULL,
        at BIGINT NOT NULL,
        position INTEGER NOT NULL,
        PRIMARY KEY (scope, agent, pr)
      );
      CREATE INDEX budget_reservations_window ON budget_reservations (scope, agent, at);
    `,
  },
];

export class PostgresBudgetCounter implements BudgetCounter {
  readonly kind = "postgres" as const;

  constructor(private readonly pool: pg.Pool) {}

  migrate(): Promise<MigrationReport> {
    return migrate(this.pool, "budget", BUDGET_MIGRATIONS);
  }

  async reserve(r: Reservation): Promise<number> {
    return inContext("postgres", "reserve", async () => {
      // A reservation never changes once made, so one already there is read without the lock.
      const existing = await this.pool.query<{ position: number }>("SELECT position FROM budget_reservations WHERE scope = $1 AND agent = $2 AND pr = $3", [r.scope, r.agent, r.pr]);
      if (existing.rows[0]) return existing.rows[0].position;
      return await transaction(this.pool, async (client) => {
        await client.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`governor budget\n${r.scope}\n${r.agent}`]);
        const again = await client.query<{ position: number }>("SELECT position FROM budget_reservations WHERE scope = $1 AND agent = $2 AND pr = $3", [r.scope, r.agent, r.pr]);
        if (again.rows[0]) return again.rows[0].position;
        const at = r.at.getTime();
        // No upper bound: a PR opened earlier but reserved later still counts those reserved before it (a staggered burst).
        const { rows } = await client.query<{ n: number }>("SELECT count(*)::integer AS n FROM budget_reservations WHERE scope = $1 AND agent = $2 AND pr <> $3 AND at > $4",
          [r.scope, r.agent, r.pr, at - r.windowMs]);
        const position = (rows[0]?.n ?? 0) + 1;
        await client.query("INSERT INTO budget_reservations (scope, agent, pr, at, position) VALUES ($1, $2, $3, $4, $5)", [r.scope, r.agent, r.pr, at, position]);
        return position;
      });
    });
  }
}
