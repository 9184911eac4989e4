// The dashboard's reads over today's SQLite audit file, opened read-only: the dashboard can never alter the trail.
import type Database from "better-sqlite3";
import { type AuditRow, type AuditStore, openAuditStore } from "../audit/store.js";
import { verifyInThread } from "./verify-thread.js";
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
  type Outcome,
  OVERRIDE_SQL,
  type OverrideItem,
  type Page,
  withOverride,
  type PageRequest,
  budgetLines,
  type VerifyStatus,
  verifyStatus,
} from "./source.js";

const LIST_COLUMNS = "id, recorded_at, repo, pr, head_sha, agent, outcome, title, evaluator_version, hash";
/** A PR with more decisions than this shows its newest ones (a loop of re-runs, say). */
const HISTORY_LIMIT = 1000;

type Params = Record<string, string | number>;

function clauses(f: DecisionFilters, params: Params): string[] {
  const out: string[] = [];
  // A range on the repo column rather than LIKE: it uses the (repo, pr, id) index and has no wildcard characters to escape.
  if (f.org !== undefined) {
    out.push("repo >= @orgLo AND repo < @orgHi");
    params["orgLo"] = `${f.org}/`;
    params["orgHi"] = `${f.org}0`;
  }
  if (f.repo !== undefined) {
    out.push("repo = @repo");
    params["repo"] = f.repo;
  }
  if (f.agent !== undefined) {
    out.push("agent = @agent");
    params["agent"] = f.agent;
  }
  if (f.outcome !== undefined) {
    out.push("outcome = @outcome");
    params["outcome"] = f.outcome;
  }
  if (f.mode !== undefined) out.push(f.mode === "observe" ? OBSERVE_SQL : `NOT ${OBSERVE_SQL}`);
  if (f.since !== undefined) {
    out.push("recorded_at >= @since");
    params["since"] = f.since;
  }
  if (f.until !== undefined) {
    out.push("recorded_at < @until");
    params["until"] = f.until;
  }
  return out;
}

export class SqliteAuditSource implements AuditSource {
  private readonly db: Database.Database;

  constructor(private readonly store: AuditStore) {
    this.db = store.db;
  }

  /** Opens the file read-only; it must exist and be at the current schema (as `governor audit` requires). */
  static open(path: string): SqliteAuditSource {
    return new SqliteAuditSource(openAuditStore(path, { readonly: true }));
  }

  async listDecisions(filters: DecisionFilters, page: PageRequest): Promise<Page<DecisionListItem>> {
    return this.keyset(filters, page, []);
  }

  async overrides(filters: DecisionFilters, page: PageRequest): Promise<Page<OverrideItem>> {
    const result = this.keyset<DecisionListItem & { override: string | null }>(
      filters,
      page,
      [OVERRIDE_SQL],
      ", json_extract(decision, '$.override') AS override",
    );
    return { next: result.next, items: result.items.map(withOverride) };
  }

  /**
   * Newest first from the cursor: the ids are chosen in an inner query over indexes only (id, and repo/time when
   * filtered), then only those rows are read. An offset would read every skipped row; this reads one page.
   */
  private keyset<T extends DecisionListItem = DecisionListItem>(filters: DecisionFilters, page: PageRequest, extra: string[], columns = ""): Page<T> {
    const params: Params = { limit: page.limit + 1 };
    const where = [...clauses(filters, params), ...extra];
    if (page.cursor) {
      where.push("id < @cursor");
      params["cursor"] = decodeCursor(page.cursor);
    }
    const inner = `SELECT id FROM decisions ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT @limit`;
    const rows = this.db.prepare(`SELECT ${LIST_COLUMNS}${columns} FROM decisions WHERE id IN (${inner}) ORDER BY id DESC`).all(params) as T[];
    const more = rows.length > page.limit;
    const items = more ? rows.slice(0, page.limit) : rows;
    return { items, next: more && items.length ? encodeCursor(items[items.length - 1]!.id) : null };
  }

  async getDecision(id: number): Promise<AuditRow | undefined> {
    return this.store.get(id);
  }

  async prHistory(repo: string, pr: number): Promise<AuditRow[]> {
    return this.store.list({ repo, pr, limit: HISTORY_LIMIT }).reverse();
  }

  async agentActivity(filters: { org?: string; since: string; until: string }): Promise<AgentDay[]> {
    const params: Params = {};
    const where = ["agent IS NOT NULL", ...clauses({ ...(filters.org ? { org: filters.org } : {}), since: filters.since, until: filters.until }, params)].join(
      " AND ",
    );
    const counts = this.db
      .prepare(
        `SELECT agent, substr(recorded_at, 1, 10) AS day, count(DISTINCT repo || '#' || pr) AS prs,
      sum(outcome = 'allowed') AS allowed, sum(outcome = 'needs_approval') AS needs_approval, sum(outcome = 'denied') AS denied,
      sum(outcome = 'error') AS error, sum(outcome = 'not_governed') AS not_governed, sum(${OVERRIDE_SQL}) AS overrides
      FROM decisions WHERE ${where} GROUP BY agent, day ORDER BY day, agent`,
      )
      .all(params) as Array<Omit<AgentDay, "lines" | "compute_minutes">>;
    // Lines: the size of each PR as its last decision of the day saw it (a PR pushed to three times counts once).
    const lines = this.db
      .prepare(
        `SELECT agent, day, sum(lines) AS lines FROM (
        SELECT agent, substr(recorded_at, 1, 10) AS day,
          (SELECT coalesce(sum(json_extract(f.value, '$.additions') + json_extract(f.value, '$.deletions')), 0) FROM json_each(input, '$.change.files') f) AS lines
        FROM decisions WHERE id IN (SELECT max(id) FROM decisions WHERE ${where} GROUP BY repo, pr, substr(recorded_at, 1, 10)) AND input IS NOT NULL)
      GROUP BY agent, day`,
      )
      .all(params) as Array<{ agent: string; day: string; lines: number }>;
    const byKey = new Map(lines.map((l) => [`${l.agent}\0${l.day}`, l.lines]));
    const jobParams: Params = { since: filters.since, until: filters.until, ...(filters.org ? { owner: filters.org.toLowerCase() } : {}) };
    const jobs = this.db
      .prepare(
        `SELECT repo, workflow, path, completed_at, seconds FROM workflow_jobs WHERE completed_at >= @since AND completed_at < @until${filters.org ? " AND owner = @owner" : ""}`,
      )
      .all(jobParams) as JobRow[];
    const latest = this.db.prepare("SELECT max(id) AS id FROM decisions WHERE repo = ? AND input IS NOT NULL");
    const compute = await computeByAgentDay(jobs, (repo) => {
      const id = (latest.get(repo) as { id: number | null }).id;
      return definitionsOf(id === null ? null : this.store.get(id)?.input);
    });
    return mergeAgentDays(counts, byKey, compute);
  }

  async budgets(filters: { org?: string }): Promise<BudgetLine[]> {
    const params: Params = {};
    const where = ["agent IS NOT NULL", ...clauses(filters.org ? { org: filters.org } : {}, params)].join(" AND ");
    const rows = this.db
      .prepare(
        `SELECT id, recorded_at, repo, agent, json_extract(decision, '$.limits') AS limits FROM decisions
      WHERE id IN (SELECT max(id) FROM decisions WHERE ${where} GROUP BY repo, agent) ORDER BY repo, agent`,
      )
      .all(params) as Array<{ id: number; recorded_at: string; repo: string; agent: string; limits: string | null }>;
    return budgetLines(rows);
  }

  async verify(): Promise<VerifyStatus> {
    const started = performance.now();
    // In a worker thread over its own read-only connection: hashing every row would otherwise stall every request.
    return verifyStatus(await verifyInThread(this.store.path), started);
  }

  async close(): Promise<void> {
    this.store.close();
  }
}

export type { Outcome };
