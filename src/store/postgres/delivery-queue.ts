// The delivery queue in PostgreSQL, shared by every replica. A claim leases deliveries to one replica until an expiry
// it renews by heartbeat; a replica that dies stops renewing, and its deliveries are requeued once (and only once) the
// lease has expired. Claims are serialised by a transaction-scoped advisory lock because the per-installation cap is a
// count over every replica's leases; within it, candidates are read FOR UPDATE SKIP LOCKED so a claim never waits on a
// row another transaction holds. A partial unique index makes "one leased delivery per PR" the database's own rule.
import type pg from "pg";
import { inContext } from "../errors.js";
import { planClaim, type Candidate } from "../claim-plan.js";
import type { ClaimedDelivery, ClaimRequest, DeliveryQueue, DeliveryStatus, IncomingDelivery, Lease, MigrationReport } from "../ports.js";
import { migrate, transaction, type Migration } from "./migrate.js";

/** "queue" as a lock key (exported for tests that hold it). */
export const CLAIM_LOCK = 0x7175_6575;

export const QUEUE_MIGRATIONS: readonly Migration[] = [
  {
    name: "delivery queue with leases",
    sql: `
      CREATE TABLE delivery_queue (
        seq BIGSERIAL PRIMARY KEY,
        delivery_id TEXT COLLATE "C" NOT NULL UNIQUE,
        event TEXT NOT NULL,
        action TEXT,
        installation_id BIGINT,
        pr_key TEXT COLLATE "C",
        head_sha TEXT,
        payload TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued', 'processing', 'done', 'superseded', 'failed', 'ignored')),
        attempts INTEGER NOT NULL DEFAULT 0,
        received_at BIGINT NOT NULL,
        finished_at BIGINT,
        note TEXT,
        lease_owner TEXT,
        lease_expires_at BIGINT,
        CHECK ((status = 'processing') = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL))
      );
      CREATE INDEX delivery_queue_ready ON delivery_queue (status, seq);
      CREATE INDEX delivery_queue_pr ON delivery_queue (pr_key, status);
      CREATE UNIQUE INDEX delivery_queue_one_per_pr ON delivery_queue (pr_key) WHERE status = 'processing';
    `,
  },
];

interface Row {
  seq: string;
  delivery_id: string;
  event: string;
  payload: string;
  installation_id: string | null;
  pr_key: string | null;
  head_sha: string | null;
  attempts: number;
}

const FINISHED = "('done', 'superseded', 'ignored', 'failed')";

/**
 * Queued deliveries a claim could take: not of a PR leased now, not of an installation at its cap ($1). Payloads stay
 * unread: only the claimed rows' come back.
 */
const CLAIMABLE = `FROM delivery_queue q WHERE q.status = 'queued'
  AND NOT EXISTS (SELECT 1 FROM delivery_queue l WHERE l.status = 'processing' AND l.pr_key = q.pr_key)
  AND coalesce(q.installation_id, -1) NOT IN
    (SELECT coalesce(installation_id, -1) FROM delivery_queue WHERE status = 'processing' GROUP BY 1 HAVING count(*) >= $1)`;

export class PostgresDeliveryQueue implements DeliveryQueue {
  readonly kind = "postgres" as const;

  constructor(
    private readonly pool: pg.Pool,
    private readonly now: () => Date = () => new Date(),
  ) {}

  migrate(): Promise<MigrationReport> {
    return migrate(this.pool, "queue", QUEUE_MIGRATIONS);
  }

  async accept(d: IncomingDelivery): Promise<{ status: "queued" | "ignored" | "duplicate" }> {
    return inContext("postgres", "accept", async () => {
      const status: DeliveryStatus = d.relevance.evaluate ? "queued" : "ignored";
      const r = d.relevance;
      const { rowCount } = await this.pool.query(
        `INSERT INTO delivery_queue (delivery_id, event, action, installation_id, pr_key, head_sha, payload, status, received_at, note)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (delivery_id) DO NOTHING`,
        [d.id, d.event, d.action, r.installationId, r.prKey, r.headSha, d.payload, status, this.now().getTime(), r.why ?? null],
      );
      return rowCount === 0 ? { status: "duplicate" } : { status: status === "queued" ? "queued" : "ignored" };
    });
  }

  async claim(req: ClaimRequest): Promise<ClaimedDelivery[]> {
    return inContext("postgres", "claim", async () => {
      if (req.max <= 0) return [];
      // One read first, outside the claim lock: when every installation with work is at its cap (or every queued PR is
      // leased) and no lease expired, there is nothing to claim, and replicas do not queue up on the lock for nothing.
      const probe = await this.pool.query<{ work: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM delivery_queue WHERE status = 'processing' AND lease_expires_at <= $2) OR EXISTS (SELECT 1 ${CLAIMABLE}) AS work`,
        [req.installationLimit, this.now().getTime()],
      );
      if (probe.rows[0]?.work !== true) return [];
      return await transaction(this.pool, async (client) => {
        await client.query("SELECT pg_advisory_xact_lock($1)", [CLAIM_LOCK]);
        const now = this.now().getTime();
        await client.query(
          "UPDATE delivery_queue SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL WHERE status = 'processing' AND lease_expires_at <= $1",
          [now],
        );
        const leased = await client.query<{ pr_key: string | null; inst: string }>(
          "SELECT pr_key, coalesce(installation_id, -1) AS inst FROM delivery_queue WHERE status = 'processing'",
        );
        const prKeys = new Set<string>();
        const perInstallation = new Map<number, number>();
        for (const l of leased.rows) {
          if (l.pr_key) prKeys.add(l.pr_key);
          perInstallation.set(Number(l.inst), (perInstallation.get(Number(l.inst)) ?? 0) + 1);
        }
        const { rows } = await client.query<{ seq: string; delivery_id: string; installation_id: string | null; pr_key: string | null }>(
          `SELECT q.seq, q.delivery_id, q.installation_id, q.pr_key ${CLAIMABLE} ORDER BY q.seq LIMIT $2 FOR UPDATE OF q SKIP LOCKED`,
          [req.installationLimit, req.max * 20 + 50],
        );
        const candidates: Candidate[] = rows.map((r) => ({
          seq: Number(r.seq),
          id: r.delivery_id,
          installationId: r.installation_id === null ? null : Number(r.installation_id),
          prKey: r.pr_key,
        }));
        const picks = planClaim(candidates, { prKeys, perInstallation }, req.max, req.installationLimit);
        if (picks.length === 0) return [];
        const older = picks.filter((p) => p.supersedes);
        if (older.length > 0) {
          await client.query(
            `UPDATE delivery_queue q SET status = 'superseded', finished_at = $4, note = 'superseded by delivery ' || s.id
            FROM unnest($1::text[], $2::bigint[], $3::text[]) AS s(pr_key, seq, id) WHERE q.pr_key = s.pr_key AND q.status = 'queued' AND q.seq < s.seq`,
            [older.map((p) => p.pick.prKey), older.map((p) => p.pick.seq), older.map((p) => p.pick.id), now],
          );
        }
        const expiresAt = now + req.leaseMs;
        const claimed = await client.query<Row>(
          `UPDATE delivery_queue SET status = 'processing', attempts = attempts + 1, lease_owner = $2, lease_expires_at = $3
          WHERE seq = ANY($1::bigint[]) RETURNING seq, delivery_id, event, payload, installation_id, pr_key, head_sha, attempts`,
          [picks.map((p) => p.pick.seq), req.owner, expiresAt],
        );
        const bySeq = new Map(claimed.rows.map((r) => [Number(r.seq), r]));
        const lease: Lease = { owner: req.owner, expiresAt: new Date(expiresAt) };
        return picks.flatMap(({ pick }) => {
          const r = bySeq.get(pick.seq);
          return r
            ? [
                {
                  seq: Number(r.seq),
                  id: r.delivery_id,
                  event: r.event,
                  payload: r.payload,
                  installationId: r.installation_id === null ? null : Number(r.installation_id),
                  prKey: r.pr_key,
                  headSha: r.head_sha,
                  attempts: r.attempts,
                  lease: { ...lease },
                },
              ]
            : [];
        });
      });
    });
  }

  async heartbeat(owner: string, ids: readonly string[], leaseMs: number): Promise<string[]> {
    return inContext("postgres", "heartbeat", async () => {
      if (ids.length === 0) return [];
      const { rows } = await this.pool.query<{ delivery_id: string }>(
        `UPDATE delivery_queue SET lease_expires_at = $3
        WHERE status = 'processing' AND lease_owner = $1 AND delivery_id = ANY($2::text[]) RETURNING delivery_id`,
        [owner, [...ids], this.now().getTime() + leaseMs],
      );
      return rows.map((r) => r.delivery_id);
    });
  }

  async finish(owner: string, id: string, status: "done" | "failed" | "queued", note?: string): Promise<boolean> {
    return inContext("postgres", "finish", async () => {
      const { rowCount } = await this.pool.query(
        `UPDATE delivery_queue SET status = $3, finished_at = $4, note = $5, lease_owner = NULL, lease_expires_at = NULL
        WHERE delivery_id = $1 AND status = 'processing' AND lease_owner = $2`,
        [id, owner, status, status === "queued" ? null : this.now().getTime(), note ?? null],
      );
      return rowCount === 1;
    });
  }

  async reclaimExpired(): Promise<number> {
    return inContext("postgres", "reclaimExpired", async () => {
      const { rowCount } = await this.pool.query(
        "UPDATE delivery_queue SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL WHERE status = 'processing' AND lease_expires_at <= $1",
        [this.now().getTime()],
      );
      return rowCount ?? 0;
    });
  }

  async releaseOwn(owner: string): Promise<number> {
    return inContext("postgres", "releaseOwn", async () => {
      const { rowCount } = await this.pool.query(
        "UPDATE delivery_queue SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL WHERE status = 'processing' AND lease_owner = $1",
        [owner],
      );
      return rowCount ?? 0;
    });
  }

  async depth(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>("SELECT count(*)::integer AS n FROM delivery_queue WHERE status IN ('queued', 'processing')");
    return rows[0]?.n ?? 0;
  }

  async counts(): Promise<Record<DeliveryStatus, number>> {
    const out: Record<DeliveryStatus, number> = { queued: 0, processing: 0, done: 0, superseded: 0, failed: 0, ignored: 0 };
    const { rows } = await this.pool.query<{ status: DeliveryStatus; n: number }>("SELECT status, count(*)::integer AS n FROM delivery_queue GROUP BY status");
    for (const row of rows) out[row.status] = row.n;
    return out;
  }

  async statusOf(id: string): Promise<{ status: DeliveryStatus; note: string | null; attempts: number; lease: Lease | null } | undefined> {
    const { rows } = await this.pool.query<{
      status: DeliveryStatus;
      note: string | null;
      attempts: number;
      lease_owner: string | null;
      lease_expires_at: string | null;
    }>("SELECT status, note, attempts, lease_owner, lease_expires_at FROM delivery_queue WHERE delivery_id = $1", [id]);
    const r = rows[0];
    if (!r) return undefined;
    return {
      status: r.status,
      note: r.note,
      attempts: r.attempts,
      lease: r.lease_owner && r.lease_expires_at ? { owner: r.lease_owner, expiresAt: new Date(Number(r.lease_expires_at)) } : null,
    };
  }

  async prune(before: Date): Promise<number> {
    const { rowCount } = await this.pool.query(`DELETE FROM delivery_queue WHERE status IN ${FINISHED} AND coalesce(finished_at, received_at) < $1`, [
      before.getTime(),
    ]);
    return rowCount ?? 0;
  }
}
