// The audit database's tables, versioned. Each migration moves a file one version up, inside one transaction.
import type Database from "better-sqlite3";

export const SCHEMA_VERSION = 7;

export class AuditSchemaError extends Error {
  override name = "AuditSchemaError";
  constructor(
    message: string,
    readonly path: string,
    readonly found: number,
  ) {
    super(message);
  }
}

type Migration = (db: Database.Database) => void;

/** MIGRATIONS[n] takes a file from version n to n + 1. Never edit a shipped migration; add the next one. */
const MIGRATIONS: Migration[] = [
  // 0 -> 1: the decisions table with its hash chain.
  (db) => {
    db.exec(`
      CREATE TABLE decisions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        recorded_at TEXT NOT NULL,
        delivery_id TEXT,
        installation_id INTEGER,
        repo TEXT NOT NULL,
        pr INTEGER NOT NULL,
        head_sha TEXT NOT NULL,
        base_sha TEXT NOT NULL,
        agent TEXT,
        outcome TEXT NOT NULL,
        evaluator_version TEXT NOT NULL,
        title TEXT NOT NULL,
        decision TEXT NOT NULL,
        input TEXT,
        input_missing_reason TEXT,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      );
      CREATE INDEX decisions_time ON decisions (recorded_at);
    `);
  },
  // 1 -> 2: budgets. One row per PR with its agent and creation time, so "PRs per agent per day" is an index range scan.
  (db) => {
    db.exec(`
      CREATE TABLE agent_prs (
        repo TEXT NOT NULL,
        pr INTEGER NOT NULL,
        agent TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (repo, pr)
      );
      CREATE INDEX agent_prs_window ON agent_prs (repo, agent, created_at);
      CREATE INDEX decisions_pr ON decisions (repo, pr, id);
    `);
    // Backfill from the decisions already recorded: the PR's creation time when the input has it, else its first evaluation.
    const rows = db.prepare("SELECT repo, pr, agent, recorded_at, input FROM decisions WHERE agent IS NOT NULL ORDER BY id").all() as Array<{
      repo: string;
      pr: number;
      agent: string;
      recorded_at: string;
      input: string | null;
    }>;
    const insert = db.prepare("INSERT OR IGNORE INTO agent_prs (repo, pr, agent, created_at) VALUES (?, ?, ?, ?)");
    for (const row of rows) {
      let created: string | undefined;
      try {
        created = row.input ? (JSON.parse(row.input) as { change?: { created_at?: string } }).change?.created_at : undefined;
      } catch {
        created = undefined; // an unreadable input is verify's to report; the row's own time stands in
      }
      // The spelling the store writes (…:00.000Z), so that times compare as text.
      const at = created ?? row.recorded_at;
      const parsed = Date.parse(at);
      insert.run(row.repo, row.pr, row.agent, Number.isNaN(parsed) ? at : new Date(parsed).toISOString());
    }
  },
  // 2 -> 3: policy texts stored once, by SHA-256, and referenced from new rows. Older rows keep theirs inline.
  (db) => {
    db.exec("CREATE TABLE policy_texts (sha256 TEXT PRIMARY KEY, text TEXT NOT NULL) WITHOUT ROWID");
  },
  // 3 -> 4: decisions by commit, for PRs that share a head commit (and so share its check run).
  (db) => {
    db.exec("CREATE INDEX decisions_head ON decisions (repo, head_sha, pr)");
  },
  // 4 -> 5: atomic budget reservations, sticky agent identities, and the schedule of time-window re-evaluations.
  (db) => {
    db.exec(`
      CREATE TABLE agent_budget_places (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        repo TEXT NOT NULL,
        agent TEXT NOT NULL,
        pr INTEGER NOT NULL,
        opened_at TEXT NOT NULL,
        position INTEGER NOT NULL,
        UNIQUE (repo, agent, pr)
      );
      CREATE INDEX agent_budget_places_window ON agent_budget_places (repo, agent, opened_at);
      CREATE TABLE pr_identities (
        repo TEXT NOT NULL,
        pr INTEGER NOT NULL,
        agent TEXT NOT NULL,
        first_row INTEGER NOT NULL,
        PRIMARY KEY (repo, pr, agent)
      );
      CREATE TABLE reevaluations (
        repo TEXT NOT NULL,
        pr INTEGER NOT NULL,
        installation_id INTEGER,
        due_at TEXT NOT NULL,
        PRIMARY KEY (repo, pr)
      );
      CREATE INDEX reevaluations_due ON reevaluations (due_at);
    `);
    // Identities of PRs already governed: every agent a recorded decision named.
    const rows = db.prepare("SELECT id, repo, pr, agent FROM decisions WHERE agent IS NOT NULL ORDER BY id").all() as Array<{
      id: number;
      repo: string;
      pr: number;
      agent: string;
    }>;
    const insert = db.prepare("INSERT OR IGNORE INTO pr_identities (repo, pr, agent, first_row) VALUES (?, ?, ?, ?)");
    for (const row of rows) insert.run(row.repo, row.pr, row.agent, row.id);
  },
  // 5 -> 6: the timing of completed workflow jobs (compute budgets; one row per job id, so redeliveries count once), and budget places by scope (a repository, or `org:<owner>` for the org's budgets counted across its repositories)
  // and by window (a day's position and a week's). Existing places are the repository scope's, their week unknown.
  (db) => {
    db.exec(`
      CREATE TABLE agent_budget_places_v6 (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        scope TEXT NOT NULL,
        repo TEXT NOT NULL,
        agent TEXT NOT NULL,
        pr INTEGER NOT NULL,
        opened_at TEXT NOT NULL,
        position INTEGER NOT NULL,
        week_position INTEGER,
        UNIQUE (scope, agent, repo, pr)
      );
      INSERT INTO agent_budget_places_v6 (seq, scope, repo, agent, pr, opened_at, position, week_position)
        SELECT seq, repo, repo, agent, pr, opened_at, position, NULL FROM agent_budget_places ORDER BY seq;
      DROP TABLE agent_budget_places;
      ALTER TABLE agent_budget_places_v6 RENAME TO agent_budget_places;
      CREATE INDEX agent_budget_places_window ON agent_budget_places (scope, agent, opened_at);
      CREATE TABLE workflow_jobs (
        job_id INTEGER PRIMARY KEY,
        repo TEXT NOT NULL,
        owner TEXT NOT NULL,
        run_id INTEGER NOT NULL,
        workflow TEXT NOT NULL,
        path TEXT,
        head_branch TEXT,
        started_at TEXT NOT NULL,
        completed_at TEXT NOT NULL,
        seconds INTEGER NOT NULL,
        delivery_id TEXT
      );
      CREATE INDEX workflow_jobs_repo ON workflow_jobs (repo, completed_at);
      CREATE INDEX workflow_jobs_owner ON workflow_jobs (owner, completed_at);
    `);
  },
  // 6 -> 7: the budget and identity tables keyed by their primary keys alone (WITHOUT ROWID): every decision writes
  // both, and a rowid table keeps a second b-tree for the key beside its rows.
  (db) => {
    db.exec(`
      CREATE TABLE agent_prs_v7 (
        repo TEXT NOT NULL,
        pr INTEGER NOT NULL,
        agent TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (repo, pr)
      ) WITHOUT ROWID;
      INSERT INTO agent_prs_v7 (repo, pr, agent, created_at) SELECT repo, pr, agent, created_at FROM agent_prs;
      DROP TABLE agent_prs;
      ALTER TABLE agent_prs_v7 RENAME TO agent_prs;
      CREATE INDEX agent_prs_window ON agent_prs (repo, agent, created_at);
      CREATE TABLE pr_identities_v7 (
        repo TEXT NOT NULL,
        pr INTEGER NOT NULL,
        agent TEXT NOT NULL,
        first_row INTEGER NOT NULL,
        PRIMARY KEY (repo, pr, agent)
      ) WITHOUT ROWID;
      INSERT INTO pr_identities_v7 (repo, pr, agent, first_row) SELECT repo, pr, agent, first_row FROM pr_identities;
      DROP TABLE pr_identities;
      ALTER TABLE pr_identities_v7 RENAME TO pr_identities;
    `);
  },
];

/**
 * Brings the file to SCHEMA_VERSION (or, for tests that need a file as an older Governor left it, to `to`), or refuses
 * a file written by a newer Governor.
 */
export function migrate(db: Database.Database, path: string, opts: { to?: number } = {}): { from: number; to: number } {
  const target = opts.to ?? SCHEMA_VERSION;
  const from = db.pragma("user_version", { simple: true }) as number;
  if (from > SCHEMA_VERSION) {
    throw new AuditSchemaError(
      `${path} has audit schema version ${from}, newer than this Governor understands (${SCHEMA_VERSION}); upgrade Governor rather than risk the trail`,
      path,
      from,
    );
  }
  for (let v = from; v < Math.min(target, SCHEMA_VERSION); v++) {
    const step = MIGRATIONS[v];
    if (!step) throw new AuditSchemaError(`no migration from audit schema version ${v}`, path, from);
    db.transaction(() => {
      // Another process (a server starting beside the CLI) may have taken this step already: read again under the lock.
      if ((db.pragma("user_version", { simple: true }) as number) !== v) return;
      step(db);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
  return { from, to: Math.max(from, Math.min(target, SCHEMA_VERSION)) };
}
