// The delivery queue in SQLite, with the same leases as in PostgreSQL: a table of its own beside src/server/inbox.ts's
// (which keeps working unchanged until the lead switches over). Every claim is one immediate transaction, so
// connections of several processes on one file see the same leases.
//
// What each write costs is an fsync (synchronous=FULL), so the queue spends them only where a crash must not lose the
// write: accepting a delivery (GitHub is answered 202 after it, and never redelivers by itself), in one transaction
// for every delivery that arrived in the same turn of the event loop, its fsync run off the event loop (syncWal). Leases (claim,
// heartbeat, finish; the finishes of one turn in one transaction) commit without their own fsync (synchronous=NORMAL, WAL): a killed process loses none of them,
// and what a power loss could lose is only a lease or a "done", so the delivery is evaluated again, never skipped
// (the next FULL commit on the file, an accept or an audit row, makes them durable too).
import type Database from "better-sqlite3";
import { planClaim } from "../claim-plan.js";
import type { ClaimedDelivery, ClaimRequest, DeliveryQueue, DeliveryStatus, IncomingDelivery, Lease, MigrationReport } from "../ports.js";
import { migrateSqlite, type SqliteMigration } from "./migrate.js";
import { canSyncWal, syncWal, withoutFsync } from "./without-fsync.js";

export const SQLITE_QUEUE_MIGRATIONS: readonly SqliteMigration[] = [
  {
    name: "delivery queue with leases",
    sql: `
      CREATE TABLE delivery_queue (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        delivery_id TEXT NOT NULL UNIQUE,
        event TEXT NOT NULL,
        action TEXT,
        installation_id INTEGER,
        pr_key TEXT,
        head_sha TEXT,
        payload TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued', 'processing', 'done', 'superseded', 'failed', 'ignored')),
        attempts INTEGER NOT NULL DEFAULT 0,
        received_at INTEGER NOT NULL,
        finished_at INTEGER,
        note TEXT,
        lease_owner TEXT,
        lease_expires_at INTEGER,
        CHECK ((status = 'processing') = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL))
      );
      CREATE INDEX delivery_queue_ready ON delivery_queue (status, seq);
      CREATE INDEX delivery_queue_pr ON delivery_queue (pr_key, status);
      CREATE UNIQUE INDEX delivery_queue_one_per_pr ON delivery_queue (pr_key) WHERE status = 'processing';
    `,
  },
  {
    // SQLite rewrites a whole row on every UPDATE, its overflow pages too: a delivery's payload (20 KB and more) was
    // written again by its lease and by its finish. Kept in a table of its own, it is written once.
    name: "payloads beside the queue",
    sql: `
      CREATE TABLE delivery_payloads (seq INTEGER PRIMARY KEY, payload TEXT NOT NULL);
      INSERT INTO delivery_payloads (seq, payload) SELECT seq, payload FROM delivery_queue;
      ALTER TABLE delivery_queue DROP COLUMN payload;
    `,
  },
];

interface CandidateRow {
  seq: number;
  delivery_id: string;
  installation_id: number | null;
  pr_key: string | null;
}

interface LeasedRow {
  event: string;
  payload: string;
  head_sha: string | null;
  attempts: number;
}

interface Finishing {
  row: { id: string; owner: string; status: "done" | "failed" | "queued"; at: number | null; note: string | null };
  resolve: (mine: boolean) => void;
  reject: (error: unknown) => void;
}

export interface SqliteQueueOptions {
  /** Called after each shared write of finished evaluations, with how many it held (tests). */
  onFinishBatch?: (results: number) => void;
}

interface Pending {
  delivery: IncomingDelivery;
  resolve: (result: { status: "queued" | "ignored" | "duplicate" }) => void;
  reject: (error: unknown) => void;
}

/**
 * Queued deliveries a claim could take: not of a PR leased now, not of an installation at its cap (the leases counted
 * over every connection). Payloads stay unread: only the claimed rows' are read.
 */
const CLAIMABLE = `FROM delivery_queue q WHERE q.status = 'queued'
  AND (q.pr_key IS NULL OR q.pr_key NOT IN (SELECT pr_key FROM delivery_queue WHERE status = 'processing' AND pr_key IS NOT NULL))
  AND coalesce(q.installation_id, -1) NOT IN
    (SELECT coalesce(installation_id, -1) FROM delivery_queue WHERE status = 'processing' GROUP BY 1 HAVING count(*) >= @limit)`;

export class SqliteDeliveryQueue implements DeliveryQueue {
  readonly kind = "sqlite" as const;
  private readonly statements;
  /** What opening did to the schema (SQLite stores migrate when constructed, as src/server/inbox.ts does). */
  readonly migrated: MigrationReport;
  /** Accepts are made durable by an fsync of the WAL off the event loop (a file in WAL mode), else by FULL commits. */
  private readonly walSync: boolean;

  constructor(
    private readonly db: Database.Database,
    private readonly now: () => Date = () => new Date(),
    private readonly opts: SqliteQueueOptions = {},
  ) {
    this.migrated = migrateSqlite(db, "queue", SQLITE_QUEUE_MIGRATIONS);
    this.walSync = canSyncWal(db);
    this.statements = {
      insert: db.prepare(`INSERT OR IGNORE INTO delivery_queue (delivery_id, event, action, installation_id, pr_key, head_sha, status, received_at, note)
        VALUES (@id, @event, @action, @installationId, @prKey, @headSha, @status, @at, @note)`),
      insertPayload: db.prepare("INSERT OR REPLACE INTO delivery_payloads (seq, payload) VALUES (?, ?)"),
      reclaim: db.prepare(
        "UPDATE delivery_queue SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL WHERE status = 'processing' AND lease_expires_at <= ?",
      ),
      leased: db.prepare("SELECT pr_key, coalesce(installation_id, -1) AS inst FROM delivery_queue WHERE status = 'processing'"),
      expired: db.prepare("SELECT 1 FROM delivery_queue WHERE status = 'processing' AND lease_expires_at <= ? LIMIT 1"),
      anyClaimable: db.prepare(`SELECT 1 ${CLAIMABLE} LIMIT 1`),
      claimable: db.prepare(`SELECT q.seq, q.delivery_id, q.installation_id, q.pr_key ${CLAIMABLE} ORDER BY q.seq LIMIT @max`),
      supersede: db.prepare(
        "UPDATE delivery_queue SET status = 'superseded', finished_at = @at, note = @note WHERE pr_key = @prKey AND status = 'queued' AND seq < @seq",
      ),
      lease: db.prepare(
        "UPDATE delivery_queue SET status = 'processing', attempts = attempts + 1, lease_owner = @owner, lease_expires_at = @expires WHERE seq = @seq RETURNING event, (SELECT payload FROM delivery_payloads p WHERE p.seq = delivery_queue.seq) AS payload, head_sha, attempts",
      ),
      heartbeat: db.prepare("UPDATE delivery_queue SET lease_expires_at = @expires WHERE status = 'processing' AND lease_owner = @owner AND delivery_id = @id"),
      finish: db.prepare(`UPDATE delivery_queue SET status = @status, finished_at = @at, note = @note, lease_owner = NULL, lease_expires_at = NULL
        WHERE delivery_id = @id AND status = 'processing' AND lease_owner = @owner`),
    };
  }

  async migrate(): Promise<MigrationReport> {
    return migrateSqlite(this.db, "queue", SQLITE_QUEUE_MIGRATIONS);
  }

  /** Deliveries accepted in this turn of the event loop, stored together by `flush`. */
  private pending: Pending[] = [];

  accept(d: IncomingDelivery): Promise<{ status: "queued" | "ignored" | "duplicate" }> {
    return new Promise((resolve, reject) => {
      if (this.pending.push({ delivery: d, resolve, reject }) === 1) setImmediate(() => this.flush());
    });
  }

  /**
   * One durable transaction for every pending delivery; each caller hears its own result only once it is on disk. On
   * a WAL file the commit is relaxed and its fsync runs off the event loop (`syncWal`), so the process goes on deciding
   * while the disk writes; a failed fsync rejects every caller (GitHub is then not told the delivery was stored).
   */
  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    let results: Array<{ status: "queued" | "ignored" | "duplicate" }>;
    const write = () => this.db.transaction(() => batch.map((p) => this.insert(p.delivery))).immediate();
    try {
      results = this.walSync ? withoutFsync(this.db, write) : write();
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    const answer = () => batch.forEach((p, i) => p.resolve(results[i]!));
    if (!this.walSync) return answer();
    syncWal(this.db).then(answer, (error: unknown) => {
      for (const p of batch) p.reject(error);
    });
  }

  private insert(d: IncomingDelivery): { status: "queued" | "ignored" | "duplicate" } {
    const status: DeliveryStatus = d.relevance.evaluate ? "queued" : "ignored";
    const r = d.relevance;
    const info = this.statements.insert.run({
      id: d.id,
      event: d.event,
      action: d.action,
      installationId: r.installationId,
      prKey: r.prKey,
      headSha: r.headSha,
      status,
      at: this.now().getTime(),
      note: r.why ?? null,
    });
    if (info.changes === 0) return { status: "duplicate" };
    // REPLACE: a payload left behind by a queue row deleted by hand must not keep a new delivery out.
    this.statements.insertPayload.run(info.lastInsertRowid, d.payload);
    return { status: status === "queued" ? "queued" : "ignored" };
  }

  /** Lease bookkeeping without an fsync of its own (see the top of this file). */
  private relaxed<T>(fn: () => T): T {
    return withoutFsync(this.db, fn);
  }

  async claim(req: ClaimRequest): Promise<ClaimedDelivery[]> {
    if (req.max <= 0) return [];
    const s = this.statements;
    const limit = req.installationLimit;
    // A read first, outside any write transaction: when every installation with work is at its cap (or every queued PR
    // is leased) and no lease expired, there is nothing to claim, and the write lock is not taken.
    if (!s.expired.get(this.now().getTime()) && !s.anyClaimable.get({ limit })) return [];
    return this.relaxed(() =>
      this.db
        .transaction(() => {
          const now = this.now().getTime();
          s.reclaim.run(now);
          const prKeys = new Set<string>();
          const perInstallation = new Map<number, number>();
          for (const l of s.leased.all() as Array<{ pr_key: string | null; inst: number }>) {
            if (l.pr_key) prKeys.add(l.pr_key);
            perInstallation.set(l.inst, (perInstallation.get(l.inst) ?? 0) + 1);
          }
          const rows = (s.claimable.all({ limit, max: req.max * 20 + 50 }) as CandidateRow[]).map((r) => ({
            seq: r.seq,
            id: r.delivery_id,
            installationId: r.installation_id,
            prKey: r.pr_key,
          }));
          const expiresAt = now + req.leaseMs;
          return planClaim(rows, { prKeys, perInstallation }, req.max, limit).map(({ pick, supersedes }): ClaimedDelivery => {
            if (supersedes) s.supersede.run({ prKey: pick.prKey, seq: pick.seq, at: now, note: `superseded by delivery ${pick.id}` });
            const leased = s.lease.get({ seq: pick.seq, owner: req.owner, expires: expiresAt }) as LeasedRow;
            return {
              seq: pick.seq,
              id: pick.id,
              event: leased.event,
              payload: leased.payload,
              installationId: pick.installationId,
              prKey: pick.prKey,
              headSha: leased.head_sha,
              attempts: leased.attempts,
              lease: { owner: req.owner, expiresAt: new Date(expiresAt) },
            };
          });
        })
        .immediate(),
    );
  }

  async heartbeat(owner: string, ids: readonly string[], leaseMs: number): Promise<string[]> {
    const expires = this.now().getTime() + leaseMs;
    return this.relaxed(() => this.db.transaction(() => ids.filter((id) => this.statements.heartbeat.run({ owner, id, expires }).changes === 1)).immediate());
  }

  /** Results of evaluations finished in this turn of the event loop, written together by `flushFinishes`. */
  private finishing: Finishing[] = [];

  finish(owner: string, id: string, status: "done" | "failed" | "queued", note?: string): Promise<boolean> {
    const at = status === "queued" ? null : this.now().getTime();
    return new Promise((resolve, reject) => {
      if (this.finishing.push({ row: { id, owner, status, at, note: note ?? null }, resolve, reject }) === 1) setImmediate(() => this.flushFinishes());
    });
  }

  /**
   * One transaction (without an fsync of its own, as every lease write) for the results of this turn; each caller
   * hears whether the delivery was still its own. A failed write rejects every caller in it: none of them was written,
   * and their leases lapse to be evaluated again.
   */
  private flushFinishes(): void {
    const batch = this.finishing;
    this.finishing = [];
    let mine: boolean[];
    try {
      mine = this.relaxed(() => this.db.transaction(() => batch.map((f) => this.statements.finish.run(f.row).changes === 1)).immediate());
    } catch (error) {
      for (const f of batch) f.reject(error);
      return;
    }
    try {
      this.opts.onFinishBatch?.(batch.length);
    } catch {
      // An observer's failure must not strand the callers: their results are written either way.
    }
    batch.forEach((f, i) => f.resolve(mine[i]!));
  }

  async reclaimExpired(): Promise<number> {
    return this.statements.reclaim.run(this.now().getTime()).changes;
  }

  async releaseOwn(owner: string): Promise<number> {
    return this.db
      .prepare("UPDATE delivery_queue SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL WHERE status = 'processing' AND lease_owner = ?")
      .run(owner).changes;
  }

  async depth(): Promise<number> {
    return (this.db.prepare("SELECT count(*) AS n FROM delivery_queue WHERE status IN ('queued', 'processing')").get() as { n: number }).n;
  }

  async counts(): Promise<Record<DeliveryStatus, number>> {
    const out: Record<DeliveryStatus, number> = { queued: 0, processing: 0, done: 0, superseded: 0, failed: 0, ignored: 0 };
    for (const row of this.db.prepare("SELECT status, count(*) AS n FROM delivery_queue GROUP BY status").all() as Array<{ status: DeliveryStatus; n: number }>)
      out[row.status] = row.n;
    return out;
  }

  async statusOf(id: string): Promise<{ status: DeliveryStatus; note: string | null; attempts: number; lease: Lease | null } | undefined> {
    const r = this.db.prepare("SELECT status, note, attempts, lease_owner, lease_expires_at FROM delivery_queue WHERE delivery_id = ?").get(id) as
      { status: DeliveryStatus; note: string | null; attempts: number; lease_owner: string | null; lease_expires_at: number | null } | undefined;
    if (!r) return undefined;
    return {
      status: r.status,
      note: r.note,
      attempts: r.attempts,
      lease: r.lease_owner && r.lease_expires_at !== null ? { owner: r.lease_owner, expiresAt: new Date(r.lease_expires_at) } : null,
    };
  }

  async prune(before: Date): Promise<number> {
    const finished = `FROM delivery_queue WHERE status IN ('done', 'superseded', 'ignored', 'failed') AND coalesce(finished_at, received_at) < @before`;
    return this.db
      .transaction(() => {
        this.db.prepare(`DELETE FROM delivery_payloads WHERE seq IN (SELECT seq ${finished})`).run({ before: before.getTime() });
        return this.db.prepare(`DELETE ${finished}`).run({ before: before.getTime() }).changes;
      })
      .immediate();
  }
}
