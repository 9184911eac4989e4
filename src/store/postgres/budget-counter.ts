// Budget reservations in PostgreSQL: the count and the insert of one (scope, agent) happen under a transaction-scoped
// advisory lock on that pair, so replicas reserving at once get distinct, consecutive positions.
import type pg from "pg";
import { orgScope } from "../../audit/store.js";
import { inContext } from "../errors.js";
import type { BudgetCounter, BudgetPlaces, MigrationReport, Reservation } from "../ports.js";
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
  {
    // As SQLite's audit schema 6: places by scope (a repository, or org:<owner> across its repositories) and window (a
    // day's position and a week's). A place is its PR's in its repository; existing places are the repository scope's.
    name: "budget places by scope and window",
    sql: `
      ALTER TABLE budget_reservations ADD COLUMN repo TEXT COLLATE "C";
      UPDATE budget_reservations SET repo = scope;
      ALTER TABLE budget_reservations ALTER COLUMN repo SET NOT NULL;
      ALTER TABLE budget_reservations ADD COLUMN week_position INTEGER;
      ALTER TABLE budget_reservations DROP CONSTRAINT budget_reservations_pkey;
      ALTER TABLE budget_reservations ADD PRIMARY KEY (scope, agent, repo, pr);
    `,
  },
];

const DAY_MS = 24 * 60 * 60 * 1000;
const WEEK_MS = 7 * DAY_MS;

/** The lock of one (scope, agent) pair's positions. */
const lockKey = (scope: string, agent: string) => `governor budget\n${scope}\n${agent}`;

export class PostgresBudgetCounter implements BudgetCounter {
  readonly kind = "postgres" as const;

  constructor(private readonly pool: pg.Pool) {}

  migrate(): Promise<MigrationReport> {
    return migrate(this.pool, "budget", BUDGET_MIGRATIONS);
  }

  async reserve(r: Reservation): Promise<number> {
    return inContext("postgres", "reserve", async () => {
      // A reservation never changes once made, so one already there is read without the lock.
      const existing = await this.pool.query<{ position: number }>(
        "SELECT position FROM budget_reservations WHERE scope = $1 AND agent = $2 AND repo = $1 AND pr = $3",
        [r.scope, r.agent, r.pr],
      );
      if (existing.rows[0]) return existing.rows[0].position;
      return await transaction(this.pool, async (client) => {
        await client.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [lockKey(r.scope, r.agent)]);
        const again = await client.query<{ position: number }>(
          "SELECT position FROM budget_reservations WHERE scope = $1 AND agent = $2 AND repo = $1 AND pr = $3",
          [r.scope, r.agent, r.pr],
        );
        if (again.rows[0]) return again.rows[0].position;
        const at = r.at.getTime();
        // No upper bound: a PR opened earlier but reserved later still counts those reserved before it (a staggered burst).
        const { rows } = await client.query<{ n: number }>(
          "SELECT count(*)::integer AS n FROM budget_reservations WHERE scope = $1 AND agent = $2 AND NOT (repo = $1 AND pr = $3) AND at > $4",
          [r.scope, r.agent, r.pr, at - r.windowMs],
        );
        const position = (rows[0]?.n ?? 0) + 1;
        await client.query("INSERT INTO budget_reservations (scope, repo, agent, pr, at, position) VALUES ($1, $1, $2, $3, $4, $5)", [
          r.scope,
          r.agent,
          r.pr,
          at,
          position,
        ]);
        return position;
      });
    });
  }

  async reservePlaces(q: { repo: string; org: string | null; agents: readonly string[]; pr: number; openedAt: string }): Promise<BudgetPlaces> {
    const openedMs = Date.parse(q.openedAt);
    if (Number.isNaN(openedMs)) throw new Error(`cannot reserve a budget place: the PR's opening time ${JSON.stringify(q.openedAt)} is not a time`);
    const agents = [...new Set(q.agents)].sort();
    const scopes = [q.repo, ...(q.org === null ? [] : [orgScope(q.org)])];
    return inContext("postgres", "reservePlaces", () =>
      transaction(this.pool, async (client) => {
        // Every (scope, agent) pair locked in one order, so two reservations never wait on each other.
        for (const key of scopes.flatMap((scope) => agents.map((agent) => lockKey(scope, agent))).sort()) {
          await client.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [key]);
        }
        const place = async (scope: string) => {
          const out = { day: {} as Record<string, number>, week: {} as Record<string, number> };
          for (const agent of agents) {
            const known = await client.query<{ position: number; week_position: number | null }>(
              "SELECT position, week_position FROM budget_reservations WHERE scope = $1 AND agent = $2 AND repo = $3 AND pr = $4",
              [scope, agent, q.repo, q.pr],
            );
            const row = known.rows[0];
            if (row) {
              out.day[agent] = row.position;
              // A place reserved before weeks were counted has no week position; its day position stands in (as SQLite).
              out.week[agent] = row.week_position ?? row.position;
              continue;
            }
            const { rows } = await client.query<{ day: number; week: number }>(
              "SELECT count(*) FILTER (WHERE at > $3)::integer AS day, count(*)::integer AS week FROM budget_reservations WHERE scope = $1 AND agent = $2 AND at > $4",
              [scope, agent, openedMs - DAY_MS, openedMs - WEEK_MS],
            );
            const position = (rows[0]?.day ?? 0) + 1;
            const weekPosition = (rows[0]?.week ?? 0) + 1;
            await client.query("INSERT INTO budget_reservations (scope, repo, agent, pr, at, position, week_position) VALUES ($1, $2, $3, $4, $5, $6, $7)", [
              scope,
              q.repo,
              agent,
              q.pr,
              openedMs,
              position,
              weekPosition,
            ]);
            out.day[agent] = position;
            out.week[agent] = weekPosition;
          }
          return out;
        };
        const repo = await place(q.repo);
        return { repo, org: q.org === null ? null : await place(orgScope(q.org)) };
      }),
    );
  }

  async budgetPeaks(now: Date): Promise<Array<{ agent: string; scope: "repo" | "org"; prs: number }>> {
    const { rows } = await this.pool.query<{ agent: string; kind: "repo" | "org"; prs: number }>(
      `SELECT agent, kind, max(n)::integer AS prs
      FROM (SELECT scope, agent, CASE WHEN left(scope, 4) = 'org:' THEN 'org' ELSE 'repo' END AS kind, count(*) AS n FROM budget_reservations WHERE at > $1 GROUP BY scope, agent) t
      GROUP BY agent, kind ORDER BY agent, kind`,
      [now.getTime() - DAY_MS],
    );
    return rows.map((r) => ({ agent: r.agent, scope: r.kind, prs: r.prs }));
  }
}
