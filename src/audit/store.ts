// The audit store: one row per evaluation with its decision and every input, linked in a SHA-256 hash chain.
import { z } from "zod";
import { type Override, OverrideSchema } from "../policy/change.js";
import { WOULD_BLOCK_SQL } from "../store/would-block.js";
import { DECISION_COLUMNS as COLUMNS } from "../store/decision-columns.js";
import Database from "better-sqlite3";
import type { Decision } from "../policy/decision.js";
import type { EvaluationInput } from "../policy/input.js";
import { PolicyRefs } from "../store/policy-refs.js";
import { isoTime } from "../util/iso-time.js";
import { agentNames, isMergeGroupRow, isReleaseRow, MERGE_GROUP_REASON_PREFIX } from "./identity.js";
import { PolicyTexts } from "./policy-texts.js";
import { linkRows, prepareEntries, type PreparedEntries } from "./prepared.js";
import { GENESIS_HASH, rowHash } from "./row-hash.js";
import { AuditSchemaError, migrate, SCHEMA_VERSION } from "./schema.js";

export { GENESIS_HASH, rowHash } from "./row-hash.js";
export { agentNames, identityEffect, isMergeGroupRow, isReleaseRow, MERGE_GROUP_REASON_PREFIX, RELEASE_REASON_PREFIX } from "./identity.js";
export type { PreparedEntries } from "./prepared.js";

const OVERRIDES = z.array(OverrideSchema);

/** Exactly the columns Governor writes and hashes: readers never see a column that verify does not cover. */
const SELECT = `SELECT ${COLUMNS.join(", ")} FROM decisions`;

/** When a row's PR was opened, as the budget table records it: from the hashed input, else the row's time. */
function createdAt(row: AuditRow): string {
  const created = row.input ? (JSON.parse(row.input) as { change?: { created_at?: string } }).change?.created_at : undefined;
  return created ?? row.recorded_at;
}

const DAY_MS = 24 * 60 * 60 * 1000;

const WEEK_MS = 7 * DAY_MS;

/** The scope of an org's budgets in agent_budget_places: its repositories' PRs counted together. */
export const orgScope = (owner: string): string => `org:${owner.toLowerCase()}`;

/** This PR's places in each agent's budgets: per window, in its repository and (when asked) across its org. */
export interface BudgetPlaces {
  repo: { day: Record<string, number>; week: Record<string, number> };
  org: { day: Record<string, number>; week: Record<string, number> } | null;
}

type Usage = {
  prs_by_agent?: Record<string, number>;
  prs_by_agent_week?: Record<string, number>;
  org_prs_by_agent?: Record<string, number>;
  org_prs_by_agent_week?: Record<string, number>;
};

/** The budget places a decision was evaluated with, from its stored input: scope ("repo" | "org"), window, agent, position. */
function placesOf(input: string | null): Array<{ scope: "repo" | "org"; window: "day" | "week"; agent: string; position: number }> {
  if (!input) return [];
  const usage = (JSON.parse(input) as { context?: { usage?: Usage } }).context?.usage ?? {};
  const out: Array<{ scope: "repo" | "org"; window: "day" | "week"; agent: string; position: number }> = [];
  const add = (scope: "repo" | "org", window: "day" | "week", map: Record<string, number> | undefined) => {
    for (const [agent, position] of Object.entries(map ?? {})) out.push({ scope, window, agent, position });
  };
  add("repo", "day", usage.prs_by_agent);
  add("repo", "week", usage.prs_by_agent_week);
  add("org", "day", usage.org_prs_by_agent);
  add("org", "week", usage.org_prs_by_agent_week);
  return out;
}

/** A completed workflow job, as a `workflow_job` webhook describes it. */
export interface WorkflowJob {
  jobId: number;
  repo: string;
  runId: number;
  workflow: string;
  path: string | null;
  headBranch: string | null;
  startedAt: string;
  completedAt: string;
  deliveryId: string | null;
}

export interface RecordedJob {
  jobId: number;
  repo: string;
  runId: number;
  workflow: string;
  path: string | null;
  headBranch: string | null;
  completedAt: string;
  seconds: number;
}

export interface AuditEntry {
  recorded_at: string;
  delivery_id: string | null;
  installation_id: number | null;
  repo: string;
  pr: number;
  head_sha: string;
  base_sha: string;
  agent: string | null;
  outcome: Decision["outcome"];
  decision: Decision;
  /** Everything the evaluator read; null only when the evaluation failed before the inputs were complete. */
  input: EvaluationInput | null;
  /** Why `input` is null (e.g. "GitHub answered 502 to GET /repos/…/pulls/7/files"). */
  input_missing_reason?: string;
}

export interface AuditRow {
  id: number;
  recorded_at: string;
  delivery_id: string | null;
  installation_id: number | null;
  repo: string;
  pr: number;
  head_sha: string;
  base_sha: string;
  agent: string | null;
  outcome: Decision["outcome"];
  evaluator_version: string;
  title: string;
  /** Canonical JSON of the decision and of the input, exactly as hashed. */
  decision: string;
  input: string | null;
  input_missing_reason: string | null;
  prev_hash: string;
  hash: string;
}

export interface AuditFilters {
  repo?: string;
  pr?: number;
  agent?: string;
  outcome?: string;
  /** Only decisions whose observe-mode parts would have blocked (decision.observed is present). */
  wouldBlock?: boolean;
  since?: string;
  until?: string;
  limit?: number;
}

export interface ChainBreak {
  /** The row at fault; null when the damage is outside the rows (a stored policy text). */
  id: number | null;
  problem: string;
}

/** SQLite WHERE clauses for the filters, their named parameters added to `params` (every SQLite reader of the rows uses these). */
export function filterClauses(filters: AuditFilters, params: Record<string, string | number>): string[] {
  const clauses: string[] = [];
  if (filters.repo !== undefined) {
    clauses.push("repo = @repo");
    params["repo"] = filters.repo;
  }
  if (filters.pr !== undefined) {
    clauses.push("pr = @pr");
    params["pr"] = filters.pr;
  }
  if (filters.agent !== undefined) {
    clauses.push("agent = @agent");
    params["agent"] = filters.agent;
  }
  if (filters.outcome !== undefined) {
    clauses.push("outcome = @outcome");
    params["outcome"] = filters.outcome;
  }
  if (filters.wouldBlock) clauses.push(WOULD_BLOCK_SQL);
  if (filters.since !== undefined) {
    clauses.push("recorded_at >= @since");
    params["since"] = filters.since;
  }
  if (filters.until !== undefined) {
    clauses.push("recorded_at < @until");
    params["until"] = filters.until;
  }
  return clauses;
}

function where(filters: AuditFilters): { sql: string; params: Record<string, string | number> } {
  const params: Record<string, string | number> = {};
  const clauses = filterClauses(filters, params);
  return { sql: clauses.length ? `WHERE ${clauses.join(" AND ")}` : "", params };
}

export class AuditStore {
  private readonly insert: Database.Statement;
  private readonly lastHash: Database.Statement;
  private readonly upsertPr: Database.Statement;
  private readonly countPrs: Database.Statement;
  private readonly texts: PolicyTexts;
  private readonly refs = new PolicyRefs();
  /** On every decision's path (PRs sharing a commit), so prepared once. */
  private readonly byHead: Database.Statement;
  private overridesOfHead: Database.Statement | undefined;
  private readonly reservation: Database.Statement;
  private readonly reserveCount: Database.Statement;
  private readonly reserveInsert: Database.Statement;
  private readonly identityInsert: Database.Statement;
  private readonly identityRelease: Database.Statement;
  private readonly identities: Database.Statement;
  /** The chain head this store last wrote: the next batch is chained from it before the lock, and checked inside. */
  private head: { id: number; hash: string } | undefined;

  constructor(
    readonly db: Database.Database,
    readonly path: string,
  ) {
    this.texts = new PolicyTexts(db);
    this.byHead = db.prepare(`SELECT id, hash, pr, outcome, decision FROM decisions WHERE id IN
      (SELECT max(id) FROM decisions WHERE repo = ? AND head_sha = ? GROUP BY pr) ORDER BY pr`);
    this.insert = db.prepare(`INSERT INTO decisions (id, recorded_at, delivery_id, installation_id, repo, pr, head_sha, base_sha, agent, outcome,
      evaluator_version, title, decision, input, input_missing_reason, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.lastHash = db.prepare("SELECT id, hash FROM decisions ORDER BY id DESC LIMIT 1");
    this.reservation = db.prepare("SELECT position, week_position FROM agent_budget_places WHERE scope = ? AND agent = ? AND repo = ? AND pr = ?");
    this.reserveCount = db.prepare("SELECT count(*) AS n FROM agent_budget_places WHERE scope = ? AND agent = ? AND opened_at > ?");
    this.reserveInsert = db.prepare(
      "INSERT INTO agent_budget_places (scope, repo, agent, pr, opened_at, position, week_position) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    this.identityInsert = db.prepare("INSERT OR IGNORE INTO pr_identities (repo, pr, agent, first_row) VALUES (?, ?, ?, ?)");
    this.identityRelease = db.prepare("DELETE FROM pr_identities WHERE repo = ? AND pr = ?");
    this.identities = db.prepare("SELECT agent FROM pr_identities WHERE repo = ? AND pr = ? ORDER BY agent");
    // The first agent seen for a PR keeps it: a PR does not move between budgets.
    this.upsertPr = db.prepare("INSERT OR IGNORE INTO agent_prs (repo, pr, agent, created_at) VALUES (?, ?, ?, ?)");
    this.countPrs = db.prepare(`SELECT count(*) AS n FROM agent_prs WHERE repo = @repo AND agent = @agent AND created_at >= @since
      AND (created_at < @until OR (created_at = @until AND pr < @tie)) AND pr != @exclude`);
  }

  /** Writes one decision; the row is either fully there with its chain link, or not at all. */
  record(entry: AuditEntry): { id: number; hash: string } {
    const [row] = this.recordBatch([entry]);
    if (!row) throw new Error("record wrote nothing");
    return row;
  }

  /**
   * Writes decisions in one transaction: all of them or none, durable (synchronous=FULL) when this returns. The same as
   * `appendPrepared(prepare(entries))`.
   */
  recordBatch(entries: readonly AuditEntry[]): Array<{ id: number; hash: string }> {
    return this.appendPrepared(this.prepare(entries));
  }

  /**
   * The entries serialised for `appendPrepared`: canonical JSON, the stored input, the budget and identity writes.
   * Touches no table, so a writer does it before its write transaction.
   */
  prepare(entries: readonly AuditEntry[]): PreparedEntries {
    return prepareEntries(entries, this.refs);
  }

  /**
   * Writes prepared entries in one transaction: all of them or none, durable when this returns. The chain hashes are
   * computed from the head this store last wrote before the write lock is taken; inside it, the head is read again and
   * the hashes are recomputed only if another writer moved it. A batch is appended once: its rows keep their links.
   */
  appendPrepared(batch: PreparedEntries): Array<{ id: number; hash: string }> {
    const { rows } = batch;
    if (rows.length === 0) return [];
    if (rows[0]!.hash !== "") throw new Error("this prepared batch was appended already: prepare the entries again");
    const guess = this.head;
    if (guess) linkRows(rows, guess);
    let written: string[] = [];
    const write = this.db.transaction(() => {
      // Read the chain head inside the write lock, so two writers on one file can never fork the chain.
      const last = (this.lastHash.get() as { id: number; hash: string } | undefined) ?? { id: 0, hash: GENESIS_HASH };
      if (!guess || guess.id !== last.id || guess.hash !== last.hash) linkRows(rows, last);
      written = this.texts.store(batch.texts);
      for (const row of rows)
        this.insert.run(
          row.id,
          row.recorded_at,
          row.delivery_id,
          row.installation_id,
          row.repo,
          row.pr,
          row.head_sha,
          row.base_sha,
          row.agent,
          row.outcome,
          row.evaluator_version,
          row.title,
          row.decision,
          row.input,
          row.input_missing_reason,
          row.prev_hash,
          row.hash,
        );
      for (const p of batch.agentPrs) this.upsertPr.run(p.repo, p.pr, p.agent, p.created_at);
      // Sticky identity, in the same transaction as the decision that established it; a release row ends it.
      for (const w of batch.identities) {
        if (w.release) this.identityRelease.run(w.repo, w.pr);
        else this.identityInsert.run(w.repo, w.pr, w.agent, rows[w.row]!.id);
      }
    });
    try {
      write.immediate();
    } catch (error) {
      // Not written: the batch may be prepared again, and the head this store knows is the file's to say.
      for (const row of rows) row.hash = "";
      this.head = undefined;
      throw error;
    }
    this.texts.committed(written);
    const tail = rows[rows.length - 1]!;
    this.head = { id: tail.id, hash: tail.hash };
    return rows.map((r) => ({ id: r.id, hash: r.hash }));
  }

  /**
   * Group commit: writes decisions that finish together in one transaction, each durable before this returns (the
   * caller reports each one's check run after it). When the shared transaction fails, each entry is written on its own,
   * so one bad entry costs the others nothing: every result is its row or the error that kept it out.
   */
  recordMany(entries: readonly AuditEntry[]): Array<{ ok: true; id: number; hash: string } | { ok: false; error: Error }> {
    try {
      return this.recordBatch(entries).map((r) => ({ ok: true as const, ...r }));
    } catch {
      return entries.map((entry) => {
        try {
          return { ok: true as const, ...this.record(entry) };
        } catch (error) {
          return { ok: false as const, error: error instanceof Error ? error : new Error(String(error)) };
        }
      });
    }
  }

  /**
   * Distinct PRs of `agent` in `repo` opened in [since, until), not counting `excludePr`. With `tieBreakPr`, PRs opened
   * exactly at `until` count when their number is lower: PRs opened in the same instant are ordered by number.
   */
  countAgentPrs(q: { repo: string; agent: string; since: string; until: string; excludePr?: number; tieBreakPr?: number }): number {
    return (
      this.countPrs.get({ repo: q.repo, agent: q.agent, since: q.since, until: q.until, exclude: q.excludePr ?? -1, tie: q.tieBreakPr ?? -1 }) as { n: number }
    ).n;
  }

  /**
   * Reserves this PR's place in each agent's budget and returns its position (1 = the agent's first PR) in the
   * repository over 24 hours. Kept for callers that need only that; see reserveBudgetPlaces.
   */
  reserveAgentPr(q: { repo: string; agents: readonly string[]; pr: number; openedAt: string }): Record<string, number> {
    return this.reservePlaces({ ...q, org: null }).repo.day;
  }

  /** reservePlaces, as the (async) port asks. */
  async reserveBudgetPlaces(q: { repo: string; org: string | null; agents: readonly string[]; pr: number; openedAt: string }): Promise<BudgetPlaces> {
    return this.reservePlaces(q);
  }

  /**
   * Reserves this PR's place in each agent's budgets, in its repository and, with `org`, across the org's repositories
   * (scope `org:<owner>`). The first call for (scope, agent, repo, pr) fixes the positions: 1 + the number of that
   * agent's PRs in the scope reserved before it whose opening lies after `openedAt` minus 24 hours (day) or 7 days
   * (week); every later call returns the same numbers. Counting and reserving are one IMMEDIATE transaction, so
   * concurrent callers (any number of processes on one file) get distinct positions.
   */
  reservePlaces(q: { repo: string; org: string | null; agents: readonly string[]; pr: number; openedAt: string }): BudgetPlaces {
    const opened = isoTime(q.openedAt);
    const openedMs = Date.parse(opened);
    const day = new Date(openedMs - DAY_MS).toISOString();
    const week = new Date(openedMs - WEEK_MS).toISOString();
    const agents = [...new Set(q.agents)].sort();
    const reserve = this.db.transaction(() => {
      const place = (scope: string) => {
        const out = { day: {} as Record<string, number>, week: {} as Record<string, number> };
        for (const agent of agents) {
          const known = this.reservation.get(scope, agent, q.repo, q.pr) as { position: number; week_position: number | null } | undefined;
          if (known) {
            out.day[agent] = known.position;
            // A place reserved before weeks were counted (schema 5) has no week position; its day position stands in.
            out.week[agent] = known.week_position ?? known.position;
            continue;
          }
          const position = (this.reserveCount.get(scope, agent, day) as { n: number }).n + 1;
          const weekPosition = (this.reserveCount.get(scope, agent, week) as { n: number }).n + 1;
          this.reserveInsert.run(scope, q.repo, agent, q.pr, opened, position, weekPosition);
          out.day[agent] = position;
          out.week[agent] = weekPosition;
        }
        return out;
      };
      return { repo: place(q.repo), org: q.org === null ? null : place(orgScope(q.org)) };
    });
    return reserve.immediate();
  }

  /**
   * Records a completed workflow job's timing once: a redelivered (or repeated) event for the same job id changes
   * nothing. Returns whether this call recorded it. Durable like a decision (the same WAL, synchronous=FULL).
   */
  async recordWorkflowJob(job: WorkflowJob): Promise<{ recorded: boolean }> {
    const seconds = Math.max(0, Math.round((Date.parse(job.completedAt) - Date.parse(job.startedAt)) / 1000));
    const result = this.db
      .prepare(
        `INSERT OR IGNORE INTO workflow_jobs (job_id, repo, owner, run_id, workflow, path, head_branch, started_at, completed_at, seconds, delivery_id)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        job.jobId,
        job.repo,
        job.repo.split("/")[0]!.toLowerCase(),
        job.runId,
        job.workflow,
        job.path,
        job.headBranch,
        isoTime(job.startedAt),
        isoTime(job.completedAt),
        seconds,
        job.deliveryId,
      );
    return { recorded: result.changes === 1 };
  }

  /** Jobs completed in (since, until], in one repository or (with `owner`) across every repository of that owner. */
  async workflowJobs(q: { repo?: string; owner?: string; since: string; until: string }): Promise<RecordedJob[]> {
    const [column, value] = q.owner !== undefined ? ["owner", q.owner.toLowerCase()] : ["repo", q.repo ?? ""];
    return this.db
      .prepare(
        `SELECT job_id AS jobId, repo, run_id AS runId, workflow, path, head_branch AS headBranch, completed_at AS completedAt, seconds
      FROM workflow_jobs WHERE ${column} = ? AND completed_at > ? AND completed_at <= ? ORDER BY job_id`,
      )
      .all(value, isoTime(q.since), isoTime(q.until)) as RecordedJob[];
  }

  /** Per agent and scope kind, the most PRs reserved in one repository (or one org) over the 24 hours before `now`. */
  budgetPeaks(now: Date): Array<{ agent: string; scope: "repo" | "org"; prs: number }> {
    const since = new Date(now.getTime() - DAY_MS).toISOString();
    return this.db
      .prepare(
        `SELECT agent, CASE WHEN substr(scope, 1, 4) = 'org:' THEN 'org' ELSE 'repo' END AS kind, max(n) AS prs
      FROM (SELECT scope, agent, count(*) AS n FROM agent_budget_places WHERE opened_at > ? GROUP BY scope, agent) GROUP BY agent, kind ORDER BY agent, kind`,
      )
      .all(since)
      .map((r) => {
        const row = r as { agent: string; kind: "repo" | "org"; prs: number };
        return { agent: row.agent, scope: row.kind, prs: row.prs };
      });
  }

  /** PRs of merge group rows (see src/github/merge-group.ts) recorded on `baseSha`: those ahead in the queue. */
  mergeGroupPrs(repo: string, baseSha: string): number[] {
    return (
      this.db
        .prepare(
          `SELECT DISTINCT pr FROM decisions WHERE repo = ? AND base_sha = ? AND input IS NULL AND pr > 0
      AND substr(input_missing_reason, 1, ${MERGE_GROUP_REASON_PREFIX.length}) = '${MERGE_GROUP_REASON_PREFIX}' ORDER BY pr`,
        )
        .all(repo, baseSha) as Array<{ pr: number }>
    ).map((r) => r.pr);
  }

  /** The agents this PR has been governed as (and not released from): it stays theirs. */
  knownAgents(repo: string, pr: number): string[] {
    return (this.identities.all(repo, pr) as Array<{ agent: string }>).map((r) => r.agent);
  }

  /** Sets (or, with null, clears) when a PR must be evaluated again because a rule's time window opens or closes. */
  scheduleReevaluation(q: { repo: string; pr: number; installationId: number | null; dueAt: string | null }): void {
    if (q.dueAt === null) this.db.prepare("DELETE FROM reevaluations WHERE repo = ? AND pr = ?").run(q.repo, q.pr);
    else
      this.db
        .prepare(
          `INSERT INTO reevaluations (repo, pr, installation_id, due_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (repo, pr) DO UPDATE SET installation_id = excluded.installation_id, due_at = excluded.due_at`,
        )
        .run(q.repo, q.pr, q.installationId, isoTime(q.dueAt));
  }

  /** Re-evaluations due at `now`, oldest first. The caller queues each durably, then clears it (`clearReevaluation`). */
  dueReevaluations(now: Date, limit = 100): Array<{ repo: string; pr: number; installationId: number | null; dueAt: string }> {
    return (
      this.db
        .prepare("SELECT repo, pr, installation_id, due_at FROM reevaluations WHERE due_at <= ? ORDER BY due_at LIMIT ?")
        .all(now.toISOString(), limit) as Array<{ repo: string; pr: number; installation_id: number | null; due_at: string }>
    ).map((r) => ({ repo: r.repo, pr: r.pr, installationId: r.installation_id, dueAt: r.due_at }));
  }

  /** Removes a re-evaluation once queued; one rescheduled since (another due time) stays. */
  clearReevaluation(q: { repo: string; pr: number; dueAt: string }): void {
    this.db.prepare("DELETE FROM reevaluations WHERE repo = ? AND pr = ? AND due_at = ?").run(q.repo, q.pr, q.dueAt);
  }

  get(id: number): AuditRow | undefined {
    return this.hydrate(this.db.prepare(`${SELECT} WHERE id = ?`).get(id) as AuditRow | undefined);
  }

  list(filters: AuditFilters = {}): AuditRow[] {
    const { sql, params } = where(filters);
    return (this.db.prepare(`${SELECT} ${sql} ORDER BY id DESC LIMIT @limit`).all({ ...params, limit: filters.limit ?? 50 }) as AuditRow[]).map((row) =>
      this.hydrate(row),
    );
  }

  /** Oldest first, one row at a time: for export and replay of any number of rows in bounded memory. */
  iterate(filters: AuditFilters = {}): IterableIterator<AuditRow> {
    return this.hydrateAll(this.stored(filters));
  }

  /** Oldest first, each row with its input parsed (null when none was recorded): what replay reads, at less cost. */
  *iterateParsed(filters: AuditFilters = {}): IterableIterator<{ row: AuditRow; input: unknown }> {
    for (const row of this.stored(filters)) yield { row, input: row.input === null ? null : this.texts.resolve(JSON.parse(row.input)) };
  }

  /** Rows as stored (policy texts by reference), oldest first. */
  private stored(filters: AuditFilters): IterableIterator<AuditRow> {
    const { sql, params } = where(filters);
    return this.db
      .prepare(`${SELECT} ${sql} ORDER BY id ${filters.limit !== undefined ? "LIMIT @limit" : ""}`)
      .iterate(filters.limit !== undefined ? { ...params, limit: filters.limit } : params) as IterableIterator<AuditRow>;
  }

  latestForPr(repo: string, pr: number): AuditRow | undefined {
    return this.hydrate(this.db.prepare(`${SELECT} WHERE repo = ? AND pr = ? ORDER BY id DESC LIMIT 1`).get(repo, pr) as AuditRow | undefined);
  }

  /**
   * The newest row of each PR, for backtesting a policy change: the PR's current state, then the filters (a PR denied
   * once and allowed since is not "denied"). `since`/`until` bound which rows count, for an "as of" view.
   */
  latestPerPr(filters: AuditFilters = {}): IterableIterator<AuditRow> {
    const { sql: window, params: windowParams } = where({
      ...(filters.since ? { since: filters.since } : {}),
      ...(filters.until ? { until: filters.until } : {}),
    });
    const { sql, params } = where({ ...filters, since: undefined, until: undefined });
    const latest = `SELECT max(id) FROM decisions ${window} GROUP BY repo, pr`;
    const outer = `${SELECT} WHERE id IN (${latest}) ${sql ? `AND ${sql.replace(/^WHERE /, "")}` : ""} ORDER BY repo, pr ${filters.limit !== undefined ? "LIMIT @limit" : ""}`;
    return this.hydrateAll(
      this.db
        .prepare(outer)
        .iterate({ ...windowParams, ...params, ...(filters.limit !== undefined ? { limit: filters.limit } : {}) }) as IterableIterator<AuditRow>,
    );
  }

  /** Rows as readers see them: the input with its policy texts in place (hashes cover the stored form). */
  private hydrate<R extends AuditRow | undefined>(row: R): R {
    return row && row.input !== null ? { ...row, input: this.texts.hydrate(row.input) } : row;
  }

  private *hydrateAll(rows: IterableIterator<AuditRow>): IterableIterator<AuditRow> {
    for (const row of rows) yield this.hydrate(row);
  }

  /** The latest decision of each PR whose head was `headSha` when it was evaluated. */
  /**
   * Break-glass overrides recorded for this PR at this head commit: those of its latest decision whose input carries
   * any (every later evaluation of the head carries them on, so a failed evaluation in between does not lose them).
   */
  async overridesFor(repo: string, pr: number, headSha: string): Promise<Override[]> {
    // Asked once per evaluation: prepared once (compiling the statement each time was about 1% of a decision's CPU).
    this.overridesOfHead ??= this.db.prepare(
      `SELECT input FROM decisions WHERE repo = ? AND pr = ? AND head_sha = ? AND input LIKE '%"overrides":[{%' ORDER BY id DESC LIMIT 1`,
    );
    const row = this.overridesOfHead.get(repo, pr, headSha) as { input: string } | undefined;
    if (!row) return [];
    const overrides = (JSON.parse(row.input) as { change?: { overrides?: unknown } }).change?.overrides;
    return OVERRIDES.parse(overrides ?? []).filter((o) => o.head_sha === headSha);
  }

  latestForHead(repo: string, headSha: string): Array<{ id: number; hash: string; pr: number; outcome: string; decision: string }> {
    return this.byHead.all(repo, headSha) as Array<{ id: number; hash: string; pr: number; outcome: string; decision: string }>;
  }

  count(): number {
    return (this.db.prepare("SELECT count(*) AS n FROM decisions").get() as { n: number }).n;
  }

  /**
   * Walks the chain from the first row; the first row whose content or link does not check out. Also: the tables have
   * exactly Governor's columns and no triggers, the budget table follows from the rows, the policy texts match their
   * hashes, and each `expect` anchor (a row id and hash shown on GitHub, in the check run's footer) is still there:
   * a chain alone cannot tell that its newest rows were cut off or the whole chain rebuilt.
   */
  verify(opts: { expect?: Array<{ id: number; hash: string }> } = {}): { rows: number; broken: ChainBreak | null } {
    const structural = this.structureProblem();
    if (structural) return { rows: 0, broken: { id: null, problem: structural } };
    let prev = GENESIS_HASH;
    let expectedId = 1;
    let rows = 0;
    const hashes = new Map<number, string>();
    const budget = new Map<string, { agent: string; created_at: string }>();
    const identities = new Map<string, Set<string>>();
    const positions = this.db.prepare("SELECT position, week_position FROM agent_budget_places WHERE scope = ? AND agent = ? AND repo = ? AND pr = ?");
    for (const row of this.db.prepare(`${SELECT} ORDER BY id`).iterate() as IterableIterator<AuditRow>) {
      rows++;
      if (row.prev_hash !== prev) {
        const problem =
          row.id !== expectedId
            ? `rows ${expectedId}..${row.id - 1} are missing (deleted): row ${row.id} links to a hash that is not the row before it`
            : `row ${row.id} does not link to row ${row.id - 1}: a row was deleted, reordered or its hash altered`;
        return { rows, broken: { id: row.id, problem } };
      }
      const { hash, ...rest } = row;
      if (rowHash(rest) !== hash) return { rows, broken: { id: row.id, problem: `row ${row.id} was edited: its content does not match its hash` } };
      const missing = PolicyTexts.references(row.input).find((sha) => !this.texts.has(sha));
      if (missing) return { rows, broken: { id: row.id, problem: `row ${row.id} refers to policy text ${missing.slice(0, 12)}, which was deleted` } };
      if (opts.expect?.some((e) => e.id === row.id)) hashes.set(row.id, hash);
      const key = `${row.repo}#${row.pr}`;
      if (row.agent && !budget.has(key)) budget.set(key, { agent: row.agent, created_at: isoTime(createdAt(row)) });
      if (isReleaseRow(row)) identities.delete(key);
      else if (!isMergeGroupRow(row))
        for (const agent of agentNames(JSON.parse(row.decision) as Decision)) (identities.get(key) ?? identities.set(key, new Set()).get(key)!).add(agent);
      // The budget position a decision was made with must still be the reservation's: lowering one would pass a PR over budget.
      for (const { scope, window, agent, position } of placesOf(row.input)) {
        const owner = row.repo.split("/")[0] ?? "";
        const reserved = positions.get(scope === "org" ? orgScope(owner) : row.repo, agent, row.repo, row.pr) as
          { position: number; week_position: number | null } | undefined;
        const found = reserved ? (window === "day" ? reserved.position : (reserved.week_position ?? reserved.position)) : undefined;
        if (found !== position) {
          const what = `${agent}'s PR number ${position} of the ${window}${scope === "org" ? " across the org" : ""}`;
          return {
            rows,
            broken: {
              id: row.id,
              problem: `row ${row.id} was decided as ${what}, but the budget reservations (agent_budget_places) say ${found ?? "nothing"}: they were edited`,
            },
          };
        }
      }
      prev = hash;
      expectedId = row.id + 1;
    }
    for (const anchor of opts.expect ?? []) {
      const found = hashes.get(anchor.id);
      if (found === undefined)
        return { rows, broken: { id: anchor.id, problem: `row ${anchor.id}, shown on GitHub, is not in the trail: rows were cut off or the chain rebuilt` } };
      if (!found.startsWith(anchor.hash.toLowerCase()))
        return {
          rows,
          broken: { id: anchor.id, problem: `row ${anchor.id} has hash ${found.slice(0, 16)}, not ${anchor.hash} as shown on GitHub: the chain was rebuilt` },
        };
    }
    const budgetProblem = this.budgetProblem(budget) ?? this.identityProblem(identities);
    if (budgetProblem) return { rows, broken: { id: null, problem: budgetProblem } };
    const text = this.texts.verify();
    if (text) return { rows, broken: { id: null, problem: text.problem } };
    return { rows, broken: null };
  }

  /** Columns or triggers Governor did not make: a trigger can delete or alter rows as they are written, unseen. */
  private structureProblem(): string | undefined {
    const triggers = this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").all() as Array<{ name: string }>;
    if (triggers.length > 0)
      return `the file has triggers Governor never creates (${triggers.map((t) => t.name).join(", ")}); they can alter rows as they are written`;
    const columns = (this.db.prepare("PRAGMA table_info(decisions)").all() as Array<{ name: string }>).map((c) => c.name);
    const extra = columns.filter((c) => !(COLUMNS as readonly string[]).includes(c));
    if (extra.length > 0) return `the decisions table has columns Governor never writes (${extra.join(", ")})`;
    return undefined;
  }

  /** The budget table must be what the rows say: one entry per agent PR, with the time it was opened. */
  private budgetProblem(expected: Map<string, { agent: string; created_at: string }>): string | undefined {
    const actual = this.db.prepare("SELECT repo, pr, agent, created_at FROM agent_prs").all() as Array<{
      repo: string;
      pr: number;
      agent: string;
      created_at: string;
    }>;
    for (const row of actual) {
      const want = expected.get(`${row.repo}#${row.pr}`);
      if (!want || want.agent !== row.agent || want.created_at !== row.created_at) {
        return `the budget table (agent_prs) does not follow from the decisions at ${row.repo}#${row.pr}: it was edited`;
      }
    }
    if (actual.length !== expected.size) return `the budget table (agent_prs) lacks ${expected.size - actual.length} agent PRs recorded in the decisions`;
    return undefined;
  }

  /** Sticky identities must be what the rows say: every agent a decision named, until a release row. */
  private identityProblem(expected: Map<string, Set<string>>): string | undefined {
    const actual = this.db.prepare("SELECT repo, pr, agent FROM pr_identities ORDER BY repo, pr, agent").all() as Array<{
      repo: string;
      pr: number;
      agent: string;
    }>;
    let n = 0;
    for (const row of actual) {
      if (!expected.get(`${row.repo}#${row.pr}`)?.has(row.agent))
        return `the identity table (pr_identities) does not follow from the decisions at ${row.repo}#${row.pr}: it was edited`;
    }
    for (const set of expected.values()) n += set.size;
    if (actual.length !== n)
      return `the identity table (pr_identities) lacks ${n - actual.length} agent identities recorded in the decisions: a PR could shed its agent`;
    return undefined;
  }

  close(): void {
    this.db.close();
  }
}

/**
 * Opens (creating or upgrading) the audit database. WAL with synchronous=FULL: a committed transaction survives a
 * killed process and a power loss alike, and a crash never leaves half a row.
 */
export function openAuditStore(path: string, opts: { readonly?: boolean } = {}): AuditStore {
  const db = new Database(path, { readonly: opts.readonly === true, fileMustExist: opts.readonly === true });
  if (!opts.readonly) {
    db.pragma("journal_mode = WAL");
    // FULL: a decision is durable, even against a power loss, before its check run is shown on GitHub.
    db.pragma("synchronous = FULL");
  }
  db.pragma("busy_timeout = 5000");
  try {
    if (!opts.readonly) migrate(db, path);
    else {
      // Read-only use (verify, export, an archived copy) never changes the file, so it must already be current.
      const found = db.pragma("user_version", { simple: true }) as number;
      if (found !== SCHEMA_VERSION) {
        throw new AuditSchemaError(
          found > SCHEMA_VERSION
            ? `${path} has audit schema version ${found}, newer than this Governor understands (${SCHEMA_VERSION}); upgrade Governor rather than risk the trail`
            : `${path} has audit schema version ${found}, older than this Governor's (${SCHEMA_VERSION}); it is upgraded when opened for writing`,
          path,
          found,
        );
      }
    }
  } catch (error) {
    db.close();
    throw error;
  }
  return new AuditStore(db, path);
}
