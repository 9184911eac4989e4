// The audit log in PostgreSQL: one chain for every replica. Appends take a transaction-scoped advisory lock, read the
// head and write the rows under it, so two replicas can never link to the same head; rows, hashes and stored inputs are
// exactly what the SQLite store writes for the same entries.
import type pg from "pg";
import { z } from "zod";
import { type Override, OverrideSchema } from "../../policy/change.js";
import { PageSize } from "../page-size.js";
import { DECISION_COLUMNS as COLUMNS } from "../decision-columns.js";
import { WOULD_BLOCK_SQL } from "../would-block.js";
import { ChainImportError, inContext } from "../errors.js";
import { identityEffect, MERGE_GROUP_REASON_PREFIX } from "../../audit/store.js";
import { isoTime } from "../../util/iso-time.js";
import { agentPrOf, importProblem, reservationsOf, verifyChain, type AgentPr } from "../chain.js";
import { linkRows, prepareEntries } from "../../audit/prepared.js";
import { hydrate, MissingPolicyTextError, PolicyRefs, references, sha256 } from "../policy-refs.js";
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
import { migrate, transaction, type Migration } from "./migrate.js";
import { workflowJobRow } from "../workflow-job-row.js";
import { Lru } from "../../util/lru.js";

/** Serialises chain appends across replicas ("audit" as a lock key). */
const APPEND_LOCK = 0x6175_6469;
/** Rows a page at most (fewer when rows are large: src/store/page-size.ts). */
const PAGE = 1000;

const SELECT = `SELECT ${COLUMNS.join(", ")} FROM decisions`;
const TABLES = ["decisions", "agent_prs", "policy_texts", "pr_identities"];

// "C" collation: text compares by code point as in SQLite, so time ranges and repo order agree across stores.
export const AUDIT_MIGRATIONS: readonly Migration[] = [
  {
    name: "decisions with their hash chain, the budget table and policy texts",
    sql: `
      CREATE TABLE decisions (
        id BIGINT PRIMARY KEY,
        recorded_at TEXT COLLATE "C" NOT NULL,
        delivery_id TEXT COLLATE "C",
        installation_id BIGINT,
        repo TEXT COLLATE "C" NOT NULL,
        pr INTEGER NOT NULL,
        head_sha TEXT COLLATE "C" NOT NULL,
        base_sha TEXT COLLATE "C" NOT NULL,
        agent TEXT COLLATE "C",
        outcome TEXT COLLATE "C" NOT NULL,
        evaluator_version TEXT COLLATE "C" NOT NULL,
        title TEXT NOT NULL,
        decision TEXT NOT NULL,
        input TEXT,
        input_missing_reason TEXT,
        prev_hash TEXT COLLATE "C" NOT NULL,
        hash TEXT COLLATE "C" NOT NULL
      );
      CREATE INDEX decisions_time ON decisions (recorded_at);
      CREATE INDEX decisions_pr ON decisions (repo, pr, id);
      CREATE INDEX decisions_head ON decisions (repo, head_sha, pr);
      CREATE TABLE agent_prs (
        repo TEXT COLLATE "C" NOT NULL,
        pr INTEGER NOT NULL,
        agent TEXT COLLATE "C" NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (repo, pr)
      );
      CREATE INDEX agent_prs_window ON agent_prs (repo, agent, created_at);
      CREATE TABLE policy_texts (sha256 TEXT COLLATE "C" PRIMARY KEY, text TEXT NOT NULL);
    `,
  },
  {
    name: "sticky identities and the time-window schedule",
    sql: `
      CREATE TABLE pr_identities (
        repo TEXT COLLATE "C" NOT NULL,
        pr INTEGER NOT NULL,
        agent TEXT COLLATE "C" NOT NULL,
        first_row BIGINT NOT NULL,
        PRIMARY KEY (repo, pr, agent)
      );
      CREATE TABLE reevaluations (
        repo TEXT COLLATE "C" NOT NULL,
        pr INTEGER NOT NULL,
        installation_id BIGINT,
        due_at TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (repo, pr)
      );
      CREATE INDEX reevaluations_due ON reevaluations (due_at);
    `,
  },
  {
    // As SQLite's audit schema 6: one row per job id, so a redelivered workflow_job counts once.
    name: "workflow jobs",
    sql: `
      CREATE TABLE workflow_jobs (
        job_id BIGINT PRIMARY KEY,
        repo TEXT COLLATE "C" NOT NULL,
        owner TEXT COLLATE "C" NOT NULL,
        run_id BIGINT NOT NULL,
        workflow TEXT NOT NULL,
        path TEXT,
        head_branch TEXT,
        started_at TEXT COLLATE "C" NOT NULL,
        completed_at TEXT COLLATE "C" NOT NULL,
        seconds INTEGER NOT NULL,
        delivery_id TEXT
      );
      CREATE INDEX workflow_jobs_repo ON workflow_jobs (repo, completed_at);
      CREATE INDEX workflow_jobs_owner ON workflow_jobs (owner, completed_at);
    `,
  },
];

interface PgRow extends Omit<AuditRecord, "id" | "installation_id"> {
  id: string;
  installation_id: string | null;
}

const toRecord = (r: PgRow): AuditRecord => ({ ...r, id: Number(r.id), installation_id: r.installation_id === null ? null : Number(r.installation_id) });

/** WHERE clauses for the filters, numbered from `$start`. */
function where(filters: AuditFilters, params: unknown[]): string[] {
  const clauses: string[] = [];
  const add = (sql: string, value: unknown) => (params.push(value), clauses.push(sql.replace("?", `$${params.length}`)));
  if (filters.repo !== undefined) add("repo = ?", filters.repo);
  if (filters.pr !== undefined) add("pr = ?", filters.pr);
  if (filters.agent !== undefined) add("agent = ?", filters.agent);
  if (filters.outcome !== undefined) add("outcome = ?", filters.outcome);
  if (filters.wouldBlock) clauses.push(WOULD_BLOCK_SQL);
  if (filters.since !== undefined) add("recorded_at >= ?", filters.since);
  if (filters.until !== undefined) add("recorded_at < ?", filters.until);
  return clauses;
}

/** Budget places by scope, repo, agent and PR: what verify compares each decision's positions with. */
type Places = Map<string, { position: number; weekPosition: number | null }>;
const placeKey = (scope: string, repo: string, agent: string, pr: number) => `${scope}\n${repo}\n${agent}\n${pr}`;

const whereSql = (clauses: string[]) => (clauses.length ? `WHERE ${clauses.join(" AND ")}` : "");

export class PostgresAuditLog implements AuditLog {
  readonly kind = "postgres" as const;
  private readonly refs = new PolicyRefs();
  /** Texts read back, by hash: few policies, read over and over. */
  private readonly texts = new Lru<string, string>(256);

  constructor(private readonly pool: pg.Pool) {}

  migrate(): Promise<MigrationReport> {
    return migrate(this.pool, "audit", AUDIT_MIGRATIONS);
  }

  async append(entries: readonly AuditEntry[]): Promise<Appended[]> {
    return inContext("postgres", "append", async () => {
      if (entries.length === 0) return [];
      // Serialised before a connection is taken: the chain's lock is then held only to link and insert.
      const prepared = prepareEntries(entries, this.refs);
      // Three round trips, the lock held from the first to the commit: begin, lock and read the head in one; all rows in
      // one statement; commit. A single append's cost is then mostly the commit's flush.
      const client = await this.pool.connect();
      let failed = false;
      try {
        const results = (await client.query(
          `BEGIN; SELECT pg_advisory_xact_lock(${APPEND_LOCK}); SELECT id, hash FROM decisions ORDER BY id DESC LIMIT 1`,
        )) as unknown as pg.QueryResult[];
        const last = results[2]?.rows[0] as { id: string; hash: string } | undefined;
        const { rows, texts, agentPrs } = prepared;
        linkRows(rows, last ? { id: Number(last.id), hash: last.hash } : undefined);
        await this.write(client, rows, texts, agentPrs);
        await client.query("COMMIT");
        return rows.map((r) => ({ id: r.id, hash: r.hash }));
      } catch (error) {
        failed = true;
        await client.query("ROLLBACK").catch(() => {});
        throw error;
      } finally {
        // A connection that failed mid-transaction may be broken: it is closed rather than handed out again.
        client.release(failed);
      }
    });
  }

  async importStored(rows: readonly AuditRecord[], texts: readonly StoredPolicyText[]): Promise<void> {
    return inContext("postgres", "importStored", async () => {
      await transaction(this.pool, async (client) => {
        await client.query("SELECT pg_advisory_xact_lock($1)", [APPEND_LOCK]);
        const problem = importProblem(rows, await this.head(client));
        if (problem) throw new ChainImportError(`cannot import: ${problem.problem}`, "postgres", problem.id);
        const bad = texts.find((t) => sha256(t.text) !== t.sha256);
        if (bad) throw new ChainImportError(`cannot import: policy text ${bad.sha256.slice(0, 12)} does not match its hash`, "postgres", 0);
        const firstPerPr = new Map<string, AgentPr>();
        for (const row of rows) {
          const entry = agentPrOf(row);
          if (entry && !firstPerPr.has(`${entry.repo}#${entry.pr}`)) firstPerPr.set(`${entry.repo}#${entry.pr}`, entry);
        }
        await this.write(client, rows, texts, [...firstPerPr.values()]);
        // The budget places the rows were decided with (the BudgetCounter's table), so verify holds on the copy.
        for (const r of rows.flatMap(reservationsOf)) {
          await client.query(
            "INSERT INTO budget_reservations (scope, repo, agent, pr, at, position, week_position) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            [r.scope, r.repo, r.agent, r.pr, Date.parse(r.openedAt), r.position, r.weekPosition],
          );
        }
      });
    });
  }

  private async head(client: pg.PoolClient): Promise<Appended | undefined> {
    const { rows } = await client.query<{ id: string; hash: string }>("SELECT id, hash FROM decisions ORDER BY id DESC LIMIT 1");
    return rows[0] ? { id: Number(rows[0].id), hash: rows[0].hash } : undefined;
  }

  /** One statement for the whole batch, whatever its size: columns travel as arrays, the three tables as CTEs. */
  private async write(client: pg.PoolClient, rows: readonly AuditRecord[], texts: readonly StoredPolicyText[], agentPrs: readonly AgentPr[]): Promise<void> {
    const types = [
      "bigint",
      "text",
      "text",
      "bigint",
      "text",
      "integer",
      "text",
      "text",
      "text",
      "text",
      "text",
      "text",
      "text",
      "text",
      "text",
      "text",
      "text",
    ];
    const n = COLUMNS.length;
    // The first agent seen for a PR keeps it: a PR does not move between budgets.
    await client.query(
      `WITH texts AS (
        INSERT INTO policy_texts (sha256, text) SELECT * FROM unnest($${n + 1}::text[], $${n + 2}::text[]) ON CONFLICT (sha256) DO NOTHING
      ), prs AS (
        INSERT INTO agent_prs (repo, pr, agent, created_at) SELECT * FROM unnest($${n + 3}::text[], $${n + 4}::integer[], $${n + 5}::text[], $${n + 6}::text[])
        ON CONFLICT (repo, pr) DO NOTHING
      )
      INSERT INTO decisions (${COLUMNS.join(", ")}) SELECT * FROM unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(", ")})`,
      [
        ...COLUMNS.map((c) => rows.map((r) => r[c])),
        texts.map((t) => t.sha256),
        texts.map((t) => t.text),
        agentPrs.map((a) => a.repo),
        agentPrs.map((a) => a.pr),
        agentPrs.map((a) => a.agent),
        agentPrs.map((a) => a.created_at),
      ],
    );
    await this.writeIdentities(client, rows);
  }

  /**
   * Sticky identities, in the decision's transaction, as the SQLite store keeps them: a release row ends them. Two
   * statements per batch, whatever its size: what the batch releases, then the agents named after each PR's last release.
   */
  private async writeIdentities(client: pg.PoolClient, rows: readonly AuditRecord[]): Promise<void> {
    const perPr = new Map<string, { repo: string; pr: number; released: boolean; agents: Map<string, number> }>();
    for (const row of rows) {
      const key = `${row.repo}#${row.pr}`;
      const state = perPr.get(key) ?? perPr.set(key, { repo: row.repo, pr: row.pr, released: false, agents: new Map() }).get(key)!;
      const effect = identityEffect(row);
      if (effect.release) {
        state.released = true;
        state.agents.clear();
      } else for (const agent of effect.agents) if (!state.agents.has(agent)) state.agents.set(agent, row.id);
    }
    const released = [...perPr.values()].filter((s) => s.released);
    if (released.length > 0) {
      await client.query("DELETE FROM pr_identities WHERE (repo, pr) IN (SELECT * FROM unnest($1::text[], $2::integer[]))", [
        released.map((s) => s.repo),
        released.map((s) => s.pr),
      ]);
    }
    const adds = [...perPr.values()].flatMap((s) => [...s.agents].map(([agent, first]) => ({ repo: s.repo, pr: s.pr, agent, first })));
    if (adds.length > 0) {
      await client.query(
        "INSERT INTO pr_identities (repo, pr, agent, first_row) SELECT * FROM unnest($1::text[], $2::integer[], $3::text[], $4::bigint[]) ON CONFLICT DO NOTHING",
        [adds.map((a) => a.repo), adds.map((a) => a.pr), adds.map((a) => a.agent), adds.map((a) => a.first)],
      );
    }
  }

  async get(id: number): Promise<AuditRecord | undefined> {
    const { rows } = await this.pool.query<PgRow>(`${SELECT} WHERE id = $1`, [id]);
    return (await this.hydrated(rows.map(toRecord)))[0];
  }

  async list(filters: AuditFilters = {}): Promise<AuditRecord[]> {
    const params: unknown[] = [];
    const clauses = where(filters, params);
    params.push(filters.limit ?? 50);
    const { rows } = await this.pool.query<PgRow>(`${SELECT} ${whereSql(clauses)} ORDER BY id DESC LIMIT $${params.length}`, params);
    return await this.hydrated(rows.map(toRecord));
  }

  async *iterate(filters: AuditFilters = {}): AsyncIterable<AuditRecord> {
    for await (const page of this.pages(filters)) yield* await this.hydrated(page);
  }

  async *iterateStored(afterId = 0): AsyncIterable<AuditRecord> {
    for await (const page of this.pages({}, afterId)) yield* page;
  }

  /** Rows as stored, oldest first, a page at a time (keyset on id: bounded memory, no long-held cursor). */
  private async *pages(filters: AuditFilters, afterId = 0): AsyncIterable<AuditRecord[]> {
    let last = afterId;
    let left = filters.limit ?? Number.POSITIVE_INFINITY;
    const size = new PageSize(PAGE);
    while (left > 0) {
      const params: unknown[] = [];
      const clauses = where(filters, params);
      params.push(last);
      clauses.push(`id > $${params.length}`);
      const asked = size.next(left);
      params.push(asked);
      const { rows } = await this.pool.query<PgRow>(`${SELECT} ${whereSql(clauses)} ORDER BY id LIMIT $${params.length}`, params);
      if (rows.length === 0) return;
      const page = rows.map(toRecord);
      size.saw(page);
      yield page;
      left -= page.length;
      last = (page[page.length - 1] as AuditRecord).id;
      if (rows.length < asked) return;
    }
  }

  async *policyTexts(): AsyncIterable<StoredPolicyText> {
    let last = "";
    for (;;) {
      const { rows } = await this.pool.query<StoredPolicyText>("SELECT sha256, text FROM policy_texts WHERE sha256 > $1 ORDER BY sha256 LIMIT 200", [last]);
      yield* rows;
      if (rows.length < 200) return;
      last = (rows[rows.length - 1] as StoredPolicyText).sha256;
    }
  }

  async latestForPr(repo: string, pr: number): Promise<AuditRecord | undefined> {
    const { rows } = await this.pool.query<PgRow>(`${SELECT} WHERE repo = $1 AND pr = $2 ORDER BY id DESC LIMIT 1`, [repo, pr]);
    return (await this.hydrated(rows.map(toRecord)))[0];
  }

  async *latestPerPr(filters: AuditFilters = {}): AsyncIterable<AuditRecord> {
    let after: { repo: string; pr: number } | undefined;
    let left = filters.limit ?? Number.POSITIVE_INFINITY;
    const size = new PageSize(PAGE);
    while (left > 0) {
      const params: unknown[] = [];
      const window = where({ ...(filters.since ? { since: filters.since } : {}), ...(filters.until ? { until: filters.until } : {}) }, params);
      const outer = where({ ...filters, since: undefined, until: undefined }, params);
      if (after) {
        params.push(after.repo, after.pr);
        outer.push(`(repo, pr) > ($${params.length - 1}, $${params.length})`);
      }
      const asked = size.next(left);
      params.push(asked);
      const latest = `SELECT max(id) FROM decisions ${whereSql(window)} GROUP BY repo, pr`;
      const { rows } = await this.pool.query<PgRow>(
        `${SELECT} WHERE id IN (${latest}) ${outer.length ? `AND ${outer.join(" AND ")}` : ""} ORDER BY repo, pr LIMIT $${params.length}`,
        params,
      );
      if (rows.length === 0) return;
      const page = await this.hydrated(rows.map(toRecord));
      size.saw(page);
      yield* page;
      left -= page.length;
      const end = page[page.length - 1] as AuditRecord;
      after = { repo: end.repo, pr: end.pr };
      if (rows.length < asked) return;
    }
  }

  async latestForHead(repo: string, headSha: string): Promise<Array<{ pr: number; id: number; hash: string; outcome: string; decision: string }>> {
    const { rows } = await this.pool.query<{ pr: number; id: string; hash: string; outcome: string; decision: string }>(
      `SELECT id, hash, pr, outcome, decision FROM decisions WHERE id IN
      (SELECT max(id) FROM decisions WHERE repo = $1 AND head_sha = $2 GROUP BY pr) ORDER BY pr`,
      [repo, headSha],
    );
    return rows.map((r) => ({ ...r, id: Number(r.id) }));
  }

  async knownAgents(repo: string, pr: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ agent: string }>("SELECT agent FROM pr_identities WHERE repo = $1 AND pr = $2 ORDER BY agent", [repo, pr]);
    return rows.map((r) => r.agent);
  }

  async mergeGroupPrs(repo: string, baseSha: string): Promise<number[]> {
    const { rows } = await this.pool.query<{ pr: number }>(
      `SELECT DISTINCT pr FROM decisions WHERE repo = $1 AND base_sha = $2 AND input IS NULL AND pr > 0
      AND starts_with(input_missing_reason, $3) ORDER BY pr`,
      [repo, baseSha, MERGE_GROUP_REASON_PREFIX],
    );
    return rows.map((r) => r.pr);
  }

  async scheduleReevaluation(q: Omit<Reevaluation, "dueAt"> & { dueAt: string | null }): Promise<void> {
    await inContext("postgres", "scheduleReevaluation", async () => {
      if (q.dueAt === null) await this.pool.query("DELETE FROM reevaluations WHERE repo = $1 AND pr = $2", [q.repo, q.pr]);
      else
        await this.pool.query(
          `INSERT INTO reevaluations (repo, pr, installation_id, due_at) VALUES ($1, $2, $3, $4)
        ON CONFLICT (repo, pr) DO UPDATE SET installation_id = excluded.installation_id, due_at = excluded.due_at`,
          [q.repo, q.pr, q.installationId, new Date(q.dueAt).toISOString()],
        );
    });
  }

  async dueReevaluations(now: Date, limit = 100): Promise<Reevaluation[]> {
    const { rows } = await this.pool.query<{ repo: string; pr: number; installation_id: string | null; due_at: string }>(
      "SELECT repo, pr, installation_id, due_at FROM reevaluations WHERE due_at <= $1 ORDER BY due_at LIMIT $2",
      [now.toISOString(), limit],
    );
    return rows.map((r) => ({ repo: r.repo, pr: r.pr, installationId: r.installation_id === null ? null : Number(r.installation_id), dueAt: r.due_at }));
  }

  async clearReevaluation(q: { repo: string; pr: number; dueAt: string }): Promise<void> {
    await this.pool.query("DELETE FROM reevaluations WHERE repo = $1 AND pr = $2 AND due_at = $3", [q.repo, q.pr, q.dueAt]);
  }

  async countAgentPrs(q: { repo: string; agent: string; since: string; until: string; excludePr?: number; tieBreakPr?: number }): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      `SELECT count(*)::integer AS n FROM agent_prs WHERE repo = $1 AND agent = $2 AND created_at >= $3
      AND (created_at < $4 OR (created_at = $4 AND pr < $5)) AND pr != $6`,
      [q.repo, q.agent, q.since, q.until, q.tieBreakPr ?? -1, q.excludePr ?? -1],
    );
    return rows[0]?.n ?? 0;
  }

  /** As AuditStore.overridesFor: the latest decision at this head whose input carries overrides, those of this head. */
  async overridesFor(repo: string, pr: number, headSha: string): Promise<Override[]> {
    const { rows } = await this.pool.query<{ input: string }>(
      `SELECT input FROM decisions WHERE repo = $1 AND pr = $2 AND head_sha = $3 AND input LIKE '%"overrides":[{%'
      ORDER BY id DESC LIMIT 1`,
      [repo, pr, headSha],
    );
    if (!rows[0]) return [];
    // Policy texts are stored by reference, the change as evaluated: its overrides read from the stored input as is.
    const overrides = (JSON.parse(rows[0].input) as { change?: { overrides?: unknown } }).change?.overrides;
    return z
      .array(OverrideSchema)
      .parse(overrides ?? [])
      .filter((o) => o.head_sha === headSha);
  }

  async recordWorkflowJob(job: WorkflowJob): Promise<{ recorded: boolean }> {
    return { recorded: (await this.insertJobs(this.pool, [job])) === 1 };
  }

  /** Jobs inserted once each by job id, in one statement; how many were new. */
  private async insertJobs(db: pg.Pool | pg.PoolClient, jobs: readonly WorkflowJob[]): Promise<number> {
    const rows = jobs.map(workflowJobRow);
    const { rowCount } = await db.query(
      `INSERT INTO workflow_jobs (job_id, repo, owner, run_id, workflow, path, head_branch, started_at, completed_at, seconds, delivery_id)
      SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::integer[], $11::text[])
      ON CONFLICT (job_id) DO NOTHING`,
      [
        rows.map((r) => r.jobId),
        rows.map((r) => r.repo),
        rows.map((r) => r.owner),
        rows.map((r) => r.runId),
        rows.map((r) => r.workflow),
        rows.map((r) => r.path),
        rows.map((r) => r.headBranch),
        rows.map((r) => r.startedAt),
        rows.map((r) => r.completedAt),
        rows.map((r) => r.seconds),
        rows.map((r) => r.deliveryId),
      ],
    );
    return rowCount ?? 0;
  }

  async workflowJobs(q: { repo?: string; owner?: string; since: string; until: string }): Promise<RecordedJob[]> {
    const [column, value] = q.owner !== undefined ? ["owner", q.owner.toLowerCase()] : ["repo", q.repo ?? ""];
    const { rows } = await this.pool.query<Omit<RecordedJob, "jobId" | "runId"> & { jobId: string; runId: string }>(
      `SELECT job_id AS "jobId", repo, run_id AS "runId", workflow, path,
      head_branch AS "headBranch", completed_at AS "completedAt", seconds FROM workflow_jobs WHERE ${column} = $1 AND completed_at > $2 AND completed_at <= $3 ORDER BY job_id`,
      [value, isoTime(q.since), isoTime(q.until)],
    );
    return rows.map((r) => ({ ...r, jobId: Number(r.jobId), runId: Number(r.runId) }));
  }

  async count(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>("SELECT count(*)::integer AS n FROM decisions");
    return rows[0]?.n ?? 0;
  }

  verify(opts: { expect?: Array<{ id: number; hash: string }> } = {}): Promise<VerifyResult> {
    const pool = this.pool;
    // The budget places of each page of rows, read in one query before the page is walked (not one query per row).
    let places: Places = new Map();
    return verifyChain(
      {
        structureProblem: () => this.structureProblem(),
        rows: () => this.rowsWithPlaces((page) => (places = page)),
        textHashes: async () => new Set((await pool.query<{ sha256: string }>("SELECT sha256 FROM policy_texts")).rows.map((r) => r.sha256)),
        agentPrs: async () => (await pool.query<AgentPr>("SELECT repo, pr, agent, created_at FROM agent_prs")).rows,
        identities: async () => (await pool.query<{ repo: string; pr: number; agent: string }>("SELECT repo, pr, agent FROM pr_identities")).rows,
        position: (scope, repo, agent, pr) => Promise.resolve(places.get(placeKey(scope, repo, agent, pr))),
        textProblem: async () => {
          for await (const t of this.policyTexts())
            if (sha256(t.text) !== t.sha256) return `policy text ${t.sha256.slice(0, 12)} was edited: its content does not match its hash`;
          return undefined;
        },
      },
      opts,
    );
  }

  /** Rows as stored, oldest first, handing over the budget places of each page's PRs before its rows. */
  private async *rowsWithPlaces(onPage: (places: Places) => void): AsyncIterable<AuditRecord> {
    for await (const page of this.pages({})) {
      onPage(await this.placesOf(page));
      yield* page;
    }
  }

  /** The BudgetCounter's places of these rows' PRs, in one query (none when its table is not in this schema). */
  private async placesOf(page: readonly AuditRecord[]): Promise<Places> {
    const prs = [...new Map(page.filter((r) => r.input !== null).map((r) => [`${r.repo}#${r.pr}`, r])).values()];
    const out: Places = new Map();
    if (prs.length === 0) return out;
    type Row = { scope: string; repo: string; agent: string; pr: number; position: number; week_position: number | null };
    const { rows } = await this.pool
      .query<Row>(
        `SELECT scope, repo, agent, pr, position, week_position FROM budget_reservations
        WHERE (repo, pr) IN (SELECT * FROM unnest($1::text[], $2::integer[]))`,
        [prs.map((r) => r.repo), prs.map((r) => r.pr)],
      )
      .catch((error: unknown) => {
        // Only a missing table means "no places"; any other failure is not evidence of anything and is raised.
        if ((error as { code?: string }).code === "42P01") return { rows: [] as Row[] };
        throw error;
      });
    for (const r of rows) out.set(placeKey(r.scope, r.repo, r.agent, r.pr), { position: r.position, weekPosition: r.week_position });
    return out;
  }

  /** Triggers, rules or columns Governor did not make: any of them can alter rows as they are written, unseen. */
  private async structureProblem(): Promise<string | undefined> {
    const triggers = await this.pool.query<{ name: string }>(
      `SELECT tgname AS name FROM pg_trigger
      WHERE NOT tgisinternal AND tgrelid IN (SELECT oid FROM pg_class WHERE relname = ANY($1) AND relnamespace = current_schema()::regnamespace)`,
      [TABLES],
    );
    if (triggers.rows.length > 0)
      return `the database has triggers Governor never creates (${triggers.rows.map((t) => t.name).join(", ")}); they can alter rows as they are written`;
    const rules = await this.pool.query<{ name: string }>("SELECT rulename AS name FROM pg_rules WHERE schemaname = current_schema() AND tablename = ANY($1)", [
      TABLES,
    ]);
    if (rules.rows.length > 0)
      return `the database has rules Governor never creates (${rules.rows.map((r) => r.name).join(", ")}); they can rewrite rows as they are written`;
    const columns = await this.pool.query<{ name: string }>(
      "SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'decisions'",
    );
    const extra = columns.rows.map((c) => c.name).filter((c) => !(COLUMNS as readonly string[]).includes(c));
    if (extra.length > 0) return `the decisions table has columns Governor never writes (${extra.join(", ")})`;
    return undefined;
  }

  // The readers' and the copy's reads (governor audit, simulate, usage; audit copy).

  async *iterateParsed(filters: AuditFilters = {}): AsyncIterable<{ row: AuditRecord; input: unknown }> {
    for await (const page of this.pages(filters)) {
      const hydrated = await this.hydrated(page);
      for (const [i, row] of page.entries()) {
        const input = hydrated[i]?.input ?? null;
        yield { row, input: input === null ? null : (JSON.parse(input) as unknown) };
      }
    }
  }

  async latestEvaluated(keys: ReadonlyArray<{ repo: string; pr?: number }>): Promise<Array<AuditRecord | undefined>> {
    const found = new Map<string, AuditRecord>();
    const keyOf = (repo: string, pr?: number) => (pr === undefined ? repo : `${repo}#${pr}`);
    // Two statements per chunk, whatever the number of keys: the PRs', then the repositories'.
    for (let i = 0; i < keys.length; i += PAGE) {
      const chunk = keys.slice(i, i + PAGE);
      const prs = chunk.filter((k): k is { repo: string; pr: number } => k.pr !== undefined);
      const repos = [...new Set(chunk.filter((k) => k.pr === undefined).map((k) => k.repo))];
      const rows: PgRow[] = [];
      if (prs.length > 0)
        rows.push(
          ...(
            await this.pool.query<PgRow>(
              `${SELECT} WHERE id IN (SELECT max(id) FROM decisions WHERE input IS NOT NULL
              AND (repo, pr) IN (SELECT * FROM unnest($1::text[], $2::integer[])) GROUP BY repo, pr)`,
              [prs.map((k) => k.repo), prs.map((k) => k.pr)],
            )
          ).rows,
        );
      const records = await this.hydrated(rows.map(toRecord));
      for (const r of records) found.set(keyOf(r.repo, r.pr), r);
      if (repos.length > 0) {
        const { rows: latest } = await this.pool.query<PgRow>(
          `${SELECT} WHERE id IN (SELECT max(id) FROM decisions WHERE input IS NOT NULL AND repo = ANY($1::text[]) GROUP BY repo)`,
          [repos],
        );
        for (const r of await this.hydrated(latest.map(toRecord))) found.set(keyOf(r.repo), r);
      }
    }
    return keys.map((k) => found.get(keyOf(k.repo, k.pr)));
  }

  async budgetPlaces(q: { after: string; until: string }): Promise<BudgetPlace[]> {
    const { rows } = await this.pool.query<{
      scope: string;
      repo: string;
      agent: string;
      pr: number;
      at: string;
      position: number;
      week_position: number | null;
    }>("SELECT scope, repo, agent, pr, at, position, week_position FROM budget_reservations WHERE at > $1 AND at <= $2 ORDER BY scope, agent, at, repo, pr", [
      Date.parse(q.after),
      Date.parse(q.until),
    ]);
    // `at` is the opening time in milliseconds; SQLite keeps the same instant as ISO text.
    return rows.map((r) => ({
      scope: r.scope,
      repo: r.repo,
      agent: r.agent,
      pr: r.pr,
      openedAt: new Date(Number(r.at)).toISOString(),
      position: r.position,
      weekPosition: r.week_position,
    }));
  }

  async allWorkflowJobs(q: { since: string; until: string }): Promise<RecordedJob[]> {
    const { rows } = await this.pool.query<Omit<RecordedJob, "jobId" | "runId"> & { jobId: string; runId: string }>(
      `SELECT job_id AS "jobId", repo, run_id AS "runId", workflow, path, head_branch AS "headBranch", completed_at AS "completedAt", seconds
      FROM workflow_jobs WHERE completed_at > $1 AND completed_at <= $2 ORDER BY job_id`,
      [isoTime(q.since), isoTime(q.until)],
    );
    return rows.map((r) => ({ ...r, jobId: Number(r.jobId), runId: Number(r.runId) }));
  }

  async *storedWorkflowJobs(afterJobId = 0): AsyncIterable<WorkflowJob> {
    for (let last = afterJobId; ;) {
      const { rows } = await this.pool.query<Omit<WorkflowJob, "jobId" | "runId"> & { jobId: string; runId: string }>(
        `SELECT job_id AS "jobId", repo, run_id AS "runId", workflow, path, head_branch AS "headBranch", started_at AS "startedAt",
        completed_at AS "completedAt", delivery_id AS "deliveryId" FROM workflow_jobs WHERE job_id > $1 ORDER BY job_id LIMIT $2`,
        [last, PAGE],
      );
      const jobs = rows.map((r) => ({ ...r, jobId: Number(r.jobId), runId: Number(r.runId) }));
      yield* jobs;
      if (jobs.length < PAGE) return;
      last = (jobs[jobs.length - 1] as WorkflowJob).jobId;
    }
  }

  async importWorkflowJobs(jobs: readonly WorkflowJob[]): Promise<number> {
    return inContext("postgres", "importWorkflowJobs", () => (jobs.length === 0 ? Promise.resolve(0) : this.insertJobs(this.pool, jobs)));
  }

  /** Rows as readers see them: inputs with their policy texts in place (hashes cover the stored form). */
  private async hydrated(rows: AuditRecord[]): Promise<AuditRecord[]> {
    const page = new Map<string, string>();
    const wanted: string[] = [];
    for (const sha of new Set(rows.flatMap((r) => references(r.input)))) {
      const cached = this.texts.get(sha);
      if (cached === undefined) wanted.push(sha);
      else page.set(sha, cached);
    }
    if (wanted.length > 0) {
      const { rows: found } = await this.pool.query<StoredPolicyText>("SELECT sha256, text FROM policy_texts WHERE sha256 = ANY($1)", [wanted]);
      for (const t of found) {
        this.texts.set(t.sha256, t.text);
        page.set(t.sha256, t.text);
      }
    }
    return rows.map((row) =>
      row.input === null
        ? row
        : {
            ...row,
            input: hydrate(row.input, (sha) => {
              const text = page.get(sha);
              // A missing text is a damaged store, not something to paper over; verify names it too.
              if (text === undefined) throw new MissingPolicyTextError(sha, "database");
              return text;
            }),
          },
    );
  }
}
