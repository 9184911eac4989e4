// The SQLite audit log behind the async port: today's AuditStore, unchanged, for everything it already does; the
// stored-row reads and the import that a copy needs read and write its tables directly.
import Database from "better-sqlite3";
import { AuditStore, filterClauses, identityEffect } from "../../audit/store.js";
import { PolicyTexts } from "../../audit/policy-texts.js";
import { migrate as migrateAudit } from "../../audit/schema.js";
import { isoTime } from "../../util/iso-time.js";
import { agentPrOf, importProblem, reservationsOf } from "../chain.js";
import { workflowJobRow } from "../workflow-job-row.js";
import { ChainImportError } from "../errors.js";
import type { Override } from "../../policy/change.js";
import { sha256 } from "../policy-refs.js";
import type {
  Appended,
  AuditEntry,
  AuditFilters,
  AuditLog,
  AuditRecord,
  BudgetPlace,
  MigrationReport,
  RecordedJob,
  Reevaluation,
  StoredPolicyText,
  VerifyResult,
  WorkflowJob,
} from "../ports.js";
import { DECISION_COLUMNS } from "../decision-columns.js";
import { PageSize } from "../page-size.js";

const COLUMNS = DECISION_COLUMNS.join(", ");
/** Rows a page at most (fewer when rows are large: src/store/page-size.ts). */
const PAGE = 1000;

const report = (r: { from: number; to: number }): MigrationReport => ({
  store: "audit",
  from: r.from,
  to: r.to,
  applied: Array.from({ length: r.to - r.from }, (_, i) => `audit schema version ${r.from + i + 1}`),
});

/** WHERE clauses for the filters: the AuditStore's own, so both read the same rows. */
const where = filterClauses;

const whereSql = (clauses: string[]) => (clauses.length ? `WHERE ${clauses.join(" AND ")}` : "");

/**
 * Iteration reads a page at a time (`all`), never through an open statement: the caller awaits between rows, and a
 * better-sqlite3 connection with an open iterator refuses every other statement, appends included.
 */
export class SqliteAuditLog implements AuditLog {
  readonly kind = "sqlite" as const;
  private readonly texts: PolicyTexts;

  constructor(readonly store: AuditStore) {
    this.texts = new PolicyTexts(store.db);
  }

  private get db(): Database.Database {
    return this.store.db;
  }

  async migrate(): Promise<MigrationReport> {
    return report(migrateAudit(this.db, this.store.path));
  }

  async append(entries: readonly AuditEntry[]): Promise<Appended[]> {
    return entries.length === 0 ? [] : this.store.recordBatch(entries);
  }

  async importStored(rows: readonly AuditRecord[], texts: readonly StoredPolicyText[]): Promise<void> {
    const insertRow = this.db.prepare(`INSERT INTO decisions (${COLUMNS}) VALUES (@id, @recorded_at, @delivery_id, @installation_id, @repo, @pr, @head_sha,
      @base_sha, @agent, @outcome, @evaluator_version, @title, @decision, @input, @input_missing_reason, @prev_hash, @hash)`);
    const insertText = this.db.prepare("INSERT OR IGNORE INTO policy_texts (sha256, text) VALUES (?, ?)");
    const insertPr = this.db.prepare("INSERT OR IGNORE INTO agent_prs (repo, pr, agent, created_at) VALUES (?, ?, ?, ?)");
    const insertIdentity = this.db.prepare("INSERT OR IGNORE INTO pr_identities (repo, pr, agent, first_row) VALUES (?, ?, ?, ?)");
    const releaseIdentity = this.db.prepare("DELETE FROM pr_identities WHERE repo = ? AND pr = ?");
    const head = this.db.prepare("SELECT id, hash FROM decisions ORDER BY id DESC LIMIT 1");
    const insertPlace = this.db.prepare(
      "INSERT OR IGNORE INTO agent_budget_places (scope, repo, agent, pr, opened_at, position, week_position) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    this.db
      .transaction(() => {
        const problem = importProblem(rows, head.get() as Appended | undefined);
        if (problem) throw new ChainImportError(`cannot import: ${problem.problem}`, "sqlite", problem.id);
        for (const t of texts) {
          if (sha256(t.text) !== t.sha256)
            throw new ChainImportError(`cannot import: policy text ${t.sha256.slice(0, 12)} does not match its hash`, "sqlite", 0);
          insertText.run(t.sha256, t.text);
        }
        for (const row of rows) {
          insertRow.run(row);
          const entry = agentPrOf(row);
          if (entry) insertPr.run(entry.repo, entry.pr, entry.agent, entry.created_at);
          // The budget places the rows were decided with, so verify's position check holds on the copy.
          for (const r of reservationsOf(row)) insertPlace.run(r.scope, r.repo, r.agent, r.pr, r.openedAt, r.position, r.weekPosition);
          // Sticky identities follow from the rows, as the store writes them (verify rebuilds them the same way).
          const identity = identityEffect(row);
          if (identity.release) releaseIdentity.run(row.repo, row.pr);
          else for (const agent of identity.agents) insertIdentity.run(row.repo, row.pr, agent, row.id);
        }
      })
      .immediate();
  }

  async get(id: number): Promise<AuditRecord | undefined> {
    return this.store.get(id);
  }

  async list(filters: AuditFilters = {}): Promise<AuditRecord[]> {
    return this.store.list(filters);
  }

  async *iterate(filters: AuditFilters = {}): AsyncIterable<AuditRecord> {
    // One row hydrated at a time: a hydrated copy of the whole page would hold it twice.
    for (const page of this.pages(filters)) for (const row of page) yield this.hydrate(row);
  }

  /** Rows as stored, oldest first, a page at a time (keyset on id; pages sized by src/store/page-size.ts). */
  private *pages(filters: AuditFilters): IterableIterator<AuditRecord[]> {
    const params: Record<string, string | number> = {};
    const clauses = where(filters, params);
    clauses.push("id > @last");
    const page = this.db.prepare(`SELECT ${COLUMNS} FROM decisions ${whereSql(clauses)} ORDER BY id LIMIT @page`);
    const size = new PageSize(PAGE);
    for (let last = 0, left = filters.limit ?? Number.POSITIVE_INFINITY; left > 0;) {
      const asked = size.next(left);
      const rows = page.all({ ...params, last, page: asked }) as AuditRecord[];
      size.saw(rows);
      if (rows.length > 0) yield rows;
      if (rows.length < asked) return;
      left -= rows.length;
      last = (rows[rows.length - 1] as AuditRecord).id;
    }
  }

  private hydrate(row: AuditRecord): AuditRecord {
    return row.input === null ? row : { ...row, input: this.texts.hydrate(row.input) };
  }

  async *iterateStored(afterId = 0): AsyncIterable<AuditRecord> {
    // Pages rather than one open statement: the caller awaits between rows, and writers must not wait on a reader.
    const page = this.db.prepare(`SELECT ${COLUMNS} FROM decisions WHERE id > ? ORDER BY id LIMIT ?`);
    const size = new PageSize(PAGE);
    for (let last = afterId; ;) {
      const asked = size.next();
      const rows = page.all(last, asked) as AuditRecord[];
      size.saw(rows);
      yield* rows;
      if (rows.length < asked) return;
      last = (rows[rows.length - 1] as AuditRecord).id;
    }
  }

  async *policyTexts(): AsyncIterable<StoredPolicyText> {
    yield* this.db.prepare("SELECT sha256, text FROM policy_texts ORDER BY sha256").all() as StoredPolicyText[];
  }

  async latestForPr(repo: string, pr: number): Promise<AuditRecord | undefined> {
    return this.store.latestForPr(repo, pr);
  }

  async *latestPerPr(filters: AuditFilters = {}): AsyncIterable<AuditRecord> {
    let left = filters.limit ?? Number.POSITIVE_INFINITY;
    const size = new PageSize(PAGE);
    for (let after: { repo: string; pr: number } | undefined; left > 0;) {
      const params: Record<string, string | number> = {};
      const window = where({ ...(filters.since ? { since: filters.since } : {}), ...(filters.until ? { until: filters.until } : {}) }, params);
      const outer = where({ ...filters, since: undefined, until: undefined }, params);
      if (after) {
        outer.push("(repo > @afterRepo OR (repo = @afterRepo AND pr > @afterPr))");
        params["afterRepo"] = after.repo;
        params["afterPr"] = after.pr;
      }
      const latest = `SELECT max(id) FROM decisions ${whereSql(window)} GROUP BY repo, pr`;
      let asked: number;
      const rows = this.db
        .prepare(`SELECT ${COLUMNS} FROM decisions WHERE id IN (${latest}) ${outer.length ? `AND ${outer.join(" AND ")}` : ""} ORDER BY repo, pr LIMIT @page`)
        .all({ ...params, page: (asked = size.next(left)) }) as AuditRecord[];
      size.saw(rows);
      for (const row of rows) yield this.hydrate(row);
      if (rows.length < asked) return;
      left -= rows.length;
      const end = rows[rows.length - 1] as AuditRecord;
      after = { repo: end.repo, pr: end.pr };
    }
  }

  async latestForHead(repo: string, headSha: string): Promise<Array<{ pr: number; id: number; hash: string; outcome: string; decision: string }>> {
    return this.store.latestForHead(repo, headSha);
  }

  async knownAgents(repo: string, pr: number): Promise<string[]> {
    return this.store.knownAgents(repo, pr);
  }

  async mergeGroupPrs(repo: string, baseSha: string): Promise<number[]> {
    return this.store.mergeGroupPrs(repo, baseSha);
  }

  async scheduleReevaluation(q: Omit<Reevaluation, "dueAt"> & { dueAt: string | null }): Promise<void> {
    this.store.scheduleReevaluation(q);
  }

  async dueReevaluations(now: Date, limit?: number): Promise<Reevaluation[]> {
    return this.store.dueReevaluations(now, limit);
  }

  async clearReevaluation(q: { repo: string; pr: number; dueAt: string }): Promise<void> {
    this.store.clearReevaluation(q);
  }

  async countAgentPrs(q: { repo: string; agent: string; since: string; until: string; excludePr?: number; tieBreakPr?: number }): Promise<number> {
    return this.store.countAgentPrs(q);
  }

  async overridesFor(repo: string, pr: number, headSha: string): Promise<Override[]> {
    return this.store.overridesFor(repo, pr, headSha);
  }

  async recordWorkflowJob(job: WorkflowJob): Promise<{ recorded: boolean }> {
    return this.store.recordWorkflowJob(job);
  }

  async workflowJobs(q: { repo?: string; owner?: string; since: string; until: string }): Promise<RecordedJob[]> {
    return this.store.workflowJobs(q);
  }

  async count(): Promise<number> {
    return this.store.count();
  }

  async verify(opts: { expect?: Array<{ id: number; hash: string }> } = {}): Promise<VerifyResult> {
    return this.store.verify(opts);
  }

  // The readers' and the copy's reads (governor audit, simulate, usage; audit copy), apart from the write path above.

  async *iterateParsed(filters: AuditFilters = {}): AsyncIterable<{ row: AuditRecord; input: unknown }> {
    // Parsed once and the texts put in place, rather than hydrated to a string and parsed again (replay's cost).
    for (const page of this.pages(filters)) for (const row of page) yield { row, input: row.input === null ? null : this.texts.resolve(JSON.parse(row.input)) };
  }

  async latestEvaluated(keys: ReadonlyArray<{ repo: string; pr?: number }>): Promise<Array<AuditRecord | undefined>> {
    const ofPr = this.db.prepare(`SELECT ${COLUMNS} FROM decisions WHERE repo = ? AND pr = ? AND input IS NOT NULL ORDER BY id DESC LIMIT 1`);
    const ofRepo = this.db.prepare(`SELECT ${COLUMNS} FROM decisions WHERE id = (SELECT max(id) FROM decisions WHERE repo = ? AND input IS NOT NULL)`);
    return keys.map((k) => {
      const row = (k.pr === undefined ? ofRepo.get(k.repo) : ofPr.get(k.repo, k.pr)) as AuditRecord | undefined;
      return row && this.hydrate(row);
    });
  }

  async budgetPlaces(q: { after: string; until: string }): Promise<BudgetPlace[]> {
    return this.db
      .prepare(
        `SELECT scope, repo, agent, pr, opened_at AS openedAt, position, week_position AS weekPosition FROM agent_budget_places
      WHERE opened_at > ? AND opened_at <= ? ORDER BY scope, agent, opened_at, repo, pr`,
      )
      .all(isoTime(q.after), isoTime(q.until)) as BudgetPlace[];
  }

  async allWorkflowJobs(q: { since: string; until: string }): Promise<RecordedJob[]> {
    return this.db
      .prepare(
        `SELECT job_id AS jobId, repo, run_id AS runId, workflow, path, head_branch AS headBranch, completed_at AS completedAt, seconds
      FROM workflow_jobs WHERE completed_at > ? AND completed_at <= ? ORDER BY job_id`,
      )
      .all(isoTime(q.since), isoTime(q.until)) as RecordedJob[];
  }

  async *storedWorkflowJobs(afterJobId = 0): AsyncIterable<WorkflowJob> {
    const page = this.db.prepare(
      `SELECT job_id AS jobId, repo, run_id AS runId, workflow, path, head_branch AS headBranch, started_at AS startedAt, completed_at AS completedAt,
      delivery_id AS deliveryId FROM workflow_jobs WHERE job_id > ? ORDER BY job_id LIMIT ?`,
    );
    for (let last = afterJobId; ;) {
      const jobs = page.all(last, PAGE) as WorkflowJob[];
      yield* jobs;
      if (jobs.length < PAGE) return;
      last = (jobs[jobs.length - 1] as WorkflowJob).jobId;
    }
  }

  async importWorkflowJobs(jobs: readonly WorkflowJob[]): Promise<number> {
    const insert = this.db.prepare(
      `INSERT OR IGNORE INTO workflow_jobs (job_id, repo, owner, run_id, workflow, path, head_branch, started_at, completed_at, seconds, delivery_id)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    return this.db
      .transaction(() => {
        let added = 0;
        for (const j of jobs) {
          const row = workflowJobRow(j);
          added += insert.run(
            row.jobId,
            row.repo,
            row.owner,
            row.runId,
            row.workflow,
            row.path,
            row.headBranch,
            row.startedAt,
            row.completedAt,
            row.seconds,
            row.deliveryId,
          ).changes;
        }
        return added;
      })
      .immediate();
  }
}

/**
 * Opens (creating or upgrading) the SQLite audit file as openAuditStore does, and says what the upgrade did. WAL with
 * synchronous=FULL: a committed decision survives a killed process and a power loss alike.
 */
export function openSqliteAuditLog(path: string): { log: SqliteAuditLog; migration: MigrationReport } {
  const db = new Database(path);
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.pragma("busy_timeout = 5000");
    const migration = report(migrateAudit(db, path));
    return { log: new SqliteAuditLog(new AuditStore(db, path)), migration };
  } catch (error) {
    db.close();
    throw error;
  }
}
