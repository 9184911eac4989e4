// The dashboard's reads over the PostgreSQL audit store (DATABASE_URL), on a pool of its own whose every transaction is
// read-only: the dashboard can never alter the trail. The same lists, filters, cursors and figures as sqlite-source.ts.
import pg from "pg";
import type { AuditRow } from "../audit/store.js";
import { StoreError, StoreSchemaError } from "../store/errors.js";
import { AUDIT_MIGRATIONS, PostgresAuditLog } from "../store/postgres/audit-log.js";
import { computeByAgentDay, definitionsOf, type JobRow } from "./compute.js";
import {
  type AgentDay,
  type AuditSource,
  type BudgetLine,
  type DecisionFilters,
  type DecisionListItem,
  decodeCursor,
  encodeCursor,
  mergeAgentDays,
  OBSERVE_SQL,
  OVERRIDE_SQL,
  type OverrideItem,
  type Page,
  type PageRequest,
  budgetLines,
  type VerifyStatus,
  verifyStatus,
  withOverride,
} from "./source.js";

/**
 * A stored text as json PostgreSQL will read. Stored inputs mark policy texts by reference with a `\u0000` prefix, and
 * PostgreSQL's json operators refuse that escape (it has no text form); read as `\u0001` the figures are the same (an
 * escaped backslash before `u0000` stays valid JSON too).
 */
const asJson = (column: string) => `replace(${column}, E'\\\\u0000', E'\\\\u0001')::json`;

const LIST_COLUMNS = "id, recorded_at, repo, pr, head_sha, agent, outcome, title, evaluator_version, hash";
/** As in sqlite-source.ts: a PR with more decisions than this shows its newest ones. */
const HISTORY_LIMIT = 1000;

/** WHERE clauses for the filters, their values appended to `params` as $n. */
function clauses(f: DecisionFilters, params: unknown[]): string[] {
  const out: string[] = [];
  const add = (sql: (n: number) => string, value: unknown) => (params.push(value), out.push(sql(params.length)));
  // A range on the repo column (collation "C", as SQLite compares): it uses the (repo, pr, id) index, no LIKE to escape.
  if (f.org !== undefined) {
    add((n) => `repo >= $${n}`, `${f.org}/`);
    add((n) => `repo < $${n}`, `${f.org}0`);
  }
  if (f.repo !== undefined) add((n) => `repo = $${n}`, f.repo);
  if (f.agent !== undefined) add((n) => `agent = $${n}`, f.agent);
  if (f.outcome !== undefined) add((n) => `outcome = $${n}`, f.outcome);
  if (f.mode !== undefined) out.push(f.mode === "observe" ? OBSERVE_SQL : `NOT ${OBSERVE_SQL}`);
  if (f.since !== undefined) add((n) => `recorded_at >= $${n}`, f.since);
  if (f.until !== undefined) add((n) => `recorded_at < $${n}`, f.until);
  return out;
}

type ListRow = Omit<DecisionListItem, "id"> & { id: string };
const listItem = <T extends ListRow>(r: T): Omit<T, "id"> & { id: number } => ({ ...r, id: Number(r.id) });

export class PostgresAuditSource implements AuditSource {
  /** Rows read as the store's own reader reads them: inputs hydrated with their policy texts, chain verification. */
  private readonly log: PostgresAuditLog;

  private constructor(private readonly pool: pg.Pool) {
    this.log = new PostgresAuditLog(pool);
  }

  /**
   * Opens a read-only pool on `url` (optionally in `schema`), and checks that the audit schema is the one this Governor
   * writes: a database never migrated, or migrated by a newer Governor, is refused here rather than at the first page.
   */
  static async open(url: string, opts: { schema?: string; max?: number; onError?: (error: Error) => void } = {}): Promise<PostgresAuditSource> {
    if (opts.schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(opts.schema))
      throw new StoreError(`schema ${JSON.stringify(opts.schema)} is not a plain lower-case identifier`, "postgres", "open");
    const pool = new pg.Pool({
      connectionString: url,
      max: opts.max ?? 4,
      // Every statement of this pool runs in a read-only transaction: a write is refused by the server itself.
      options: `-c default_transaction_read_only=on${opts.schema !== undefined ? ` -c search_path=${opts.schema}` : ""}`,
    });
    // Without a listener an idle connection's error would take the process down; the pool reconnects on next use.
    pool.on("error", (error) => opts.onError?.(error));
    try {
      const version = await schemaVersion(pool);
      if (version !== AUDIT_MIGRATIONS.length)
        throw new StoreSchemaError(
          version < AUDIT_MIGRATIONS.length
            ? `the audit schema in PostgreSQL is at version ${version}, older than this Governor's (${AUDIT_MIGRATIONS.length}): run governor migrate (or start governor serve once) first; the dashboard only reads`
            : `the audit schema in PostgreSQL is at version ${version}, newer than this Governor understands (${AUDIT_MIGRATIONS.length}); upgrade Governor`,
          "audit",
          version,
          AUDIT_MIGRATIONS.length,
        );
    } catch (error) {
      await pool.end();
      throw error;
    }
    return new PostgresAuditSource(pool);
  }

  async listDecisions(filters: DecisionFilters, page: PageRequest): Promise<Page<DecisionListItem>> {
    return this.keyset<ListRow>(filters, page, []);
  }

  async overrides(filters: DecisionFilters, page: PageRequest): Promise<Page<OverrideItem>> {
    // `->` on json (not jsonb) gives the stored text of the object, as SQLite's json_extract does.
    const result = await this.keyset<ListRow & { override: string | null }>(
      filters,
      page,
      [OVERRIDE_SQL],
      `, (${asJson("decision")} -> 'override')::text AS override`,
    );
    return { next: result.next, items: result.items.map(withOverride) };
  }

  /** Newest first from the cursor (the same cursors as SQLite: the last id shown), one page read on the primary key. */
  private async keyset<T extends ListRow>(
    filters: DecisionFilters,
    page: PageRequest,
    extra: string[],
    columns = "",
  ): Promise<Page<Omit<T, "id"> & { id: number }>> {
    const params: unknown[] = [];
    const where = [...clauses(filters, params), ...extra];
    if (page.cursor) {
      params.push(decodeCursor(page.cursor));
      where.push(`id < $${params.length}`);
    }
    params.push(page.limit + 1);
    const { rows } = await this.pool.query<T>(
      `SELECT ${LIST_COLUMNS}${columns} FROM decisions ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT $${params.length}`,
      params,
    );
    const items = rows.slice(0, page.limit).map(listItem);
    return { items, next: rows.length > page.limit && items.length ? encodeCursor(items[items.length - 1]!.id) : null };
  }

  async getDecision(id: number): Promise<AuditRow | undefined> {
    return this.log.get(id);
  }

  async prHistory(repo: string, pr: number): Promise<AuditRow[]> {
    return (await this.log.list({ repo, pr, limit: HISTORY_LIMIT })).reverse();
  }

  async agentActivity(filters: { org?: string; since: string; until: string }): Promise<AgentDay[]> {
    const params: unknown[] = [];
    const where = ["agent IS NOT NULL", ...clauses({ ...(filters.org ? { org: filters.org } : {}), since: filters.since, until: filters.until }, params)].join(
      " AND ",
    );
    const { rows: counts } = await this.pool.query<Omit<AgentDay, "lines" | "compute_minutes">>(
      `SELECT agent, substr(recorded_at, 1, 10) AS day, count(DISTINCT repo || '#' || pr)::integer AS prs,
      (count(*) FILTER (WHERE outcome = 'allowed'))::integer AS allowed, (count(*) FILTER (WHERE outcome = 'needs_approval'))::integer AS needs_approval,
      (count(*) FILTER (WHERE outcome = 'denied'))::integer AS denied, (count(*) FILTER (WHERE outcome = 'error'))::integer AS error,
      (count(*) FILTER (WHERE outcome = 'not_governed'))::integer AS not_governed, (count(*) FILTER (WHERE ${OVERRIDE_SQL}))::integer AS overrides
      FROM decisions WHERE ${where} GROUP BY agent, day ORDER BY day, agent`,
      params,
    );
    // Lines: the size of each PR as its last decision of the day saw it (a PR pushed to three times counts once).
    const { rows: lines } = await this.pool.query<{ agent: string; day: string; lines: number }>(
      `SELECT agent, day, sum(lines)::float8 AS lines FROM (
        SELECT agent, substr(recorded_at, 1, 10) AS day,
          (SELECT coalesce(sum((f ->> 'additions')::numeric + (f ->> 'deletions')::numeric), 0) FROM json_array_elements(
            CASE WHEN json_typeof(${asJson("input")} -> 'change' -> 'files') = 'array' THEN ${asJson("input")} -> 'change' -> 'files' ELSE '[]'::json END) f) AS lines
        FROM decisions WHERE id IN (SELECT max(id) FROM decisions WHERE ${where} GROUP BY repo, pr, substr(recorded_at, 1, 10)) AND input IS NOT NULL) per_pr
      GROUP BY agent, day`,
      params,
    );
    const byKey = new Map(lines.map((l) => [`${l.agent}\0${l.day}`, l.lines]));
    const jobParams: unknown[] = [filters.since, filters.until, ...(filters.org ? [filters.org.toLowerCase()] : [])];
    const { rows: jobs } = await this.pool.query<JobRow>(
      `SELECT repo, workflow, path, completed_at, seconds FROM workflow_jobs WHERE completed_at >= $1 AND completed_at < $2${filters.org ? " AND owner = $3" : ""}`,
      jobParams,
    );
    const compute = await computeByAgentDay(jobs, async (repo) => {
      const { rows } = await this.pool.query<{ id: string | null }>("SELECT max(id) AS id FROM decisions WHERE repo = $1 AND input IS NOT NULL", [repo]);
      const id = rows[0]?.id ?? null;
      return definitionsOf(id === null ? null : (await this.log.get(Number(id)))?.input);
    });
    return mergeAgentDays(counts, byKey, compute);
  }

  async budgets(filters: { org?: string }): Promise<BudgetLine[]> {
    const params: unknown[] = [];
    const where = ["agent IS NOT NULL", ...clauses(filters.org ? { org: filters.org } : {}, params)].join(" AND ");
    const { rows } = await this.pool.query<{ id: string; recorded_at: string; repo: string; agent: string; limits: string | null }>(
      `SELECT id, recorded_at, repo, agent, (${asJson("decision")} -> 'limits')::text AS limits FROM decisions
      WHERE id IN (SELECT max(id) FROM decisions WHERE ${where} GROUP BY repo, agent) ORDER BY repo, agent`,
      params,
    );
    return budgetLines(rows.map((r) => ({ ...r, id: Number(r.id) })));
  }

  /**
   * The store's own verification (the AuditLog port's), the same checks and words as `governor audit verify`. It reads
   * a page of rows per query and awaits between pages, so requests are answered meanwhile.
   */
  async verify(): Promise<VerifyStatus> {
    const started = performance.now();
    return verifyStatus(await this.log.verify(), started);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** The audit store's applied migrations (0 when Governor never migrated this database). */
async function schemaVersion(pool: pg.Pool): Promise<number> {
  const { rows: ledger } = await pool.query<{ t: string | null }>("SELECT to_regclass('governor_migrations')::text AS t");
  if (!ledger[0]?.t) return 0;
  const { rows } = await pool.query<{ v: number | null }>("SELECT max(version) AS v FROM governor_migrations WHERE store = 'audit'");
  return rows[0]?.v ?? 0;
}
