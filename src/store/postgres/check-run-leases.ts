// The check runs every replica started, with the replica that owns each and until when: a replica closes a run left in
// progress only when it is its own or its owner's lease has expired (the owner died or stalled).
import type pg from "pg";
import { inContext } from "../errors.js";
import { KEEP_CLOSED_MS, viewOpenRuns } from "../check-run-view.js";
import type { CheckRunLeases, MigrationReport, OpenCheckRuns } from "../ports.js";
import { migrate, type Migration } from "./migrate.js";

export const LEDGER_MIGRATIONS: readonly Migration[] = [
  {
    name: "check runs with owners and leases",
    sql: `
      CREATE TABLE check_run_leases (
        token BIGSERIAL PRIMARY KEY,
        key TEXT COLLATE "C" NOT NULL,
        check_run_id BIGINT,
        closed BOOLEAN NOT NULL DEFAULT false,
        owner TEXT NOT NULL,
        lease_expires_at BIGINT NOT NULL,
        at BIGINT NOT NULL
      );
      CREATE INDEX check_run_leases_open ON check_run_leases (key) WHERE NOT closed;
      CREATE INDEX check_run_leases_owner ON check_run_leases (owner) WHERE NOT closed;
    `,
  },
];

export class PostgresCheckRunLeases implements CheckRunLeases {
  readonly kind = "postgres" as const;
  private writes = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly now: () => Date = () => new Date(),
  ) {}

  migrate(): Promise<MigrationReport> {
    return migrate(this.pool, "check_runs", LEDGER_MIGRATIONS);
  }

  async open(key: string, owner: string): Promise<OpenCheckRuns> {
    const { rows } = await this.pool.query<{ check_run_id: string | null; owner: string; lease_expires_at: string }>(
      "SELECT check_run_id, owner, lease_expires_at FROM check_run_leases WHERE key = $1 AND NOT closed ORDER BY token",
      [key],
    );
    return viewOpenRuns(
      rows.map((r) => ({ checkRunId: r.check_run_id === null ? null : Number(r.check_run_id), owner: r.owner, leaseExpiresAt: Number(r.lease_expires_at) })),
      owner,
      this.now().getTime(),
    );
  }

  async intend(key: string, owner: string, leaseMs: number): Promise<number> {
    return inContext("postgres", "intend", async () => {
      const now = this.now().getTime();
      if (++this.writes % 1000 === 0) await this.pool.query("DELETE FROM check_run_leases WHERE closed AND at < $1", [now - KEEP_CLOSED_MS]);
      const { rows } = await this.pool.query<{ token: string }>(
        "INSERT INTO check_run_leases (key, owner, lease_expires_at, at) VALUES ($1, $2, $3, $4) RETURNING token",
        [key, owner, now + leaseMs, now],
      );
      return Number(rows[0]?.token);
    });
  }

  async started(token: number, id: number): Promise<void> {
    return inContext("postgres", "started", async () => {
      await this.pool.query("UPDATE check_run_leases SET check_run_id = $2 WHERE token = $1", [token, id]);
    });
  }

  async heartbeat(owner: string, leaseMs: number): Promise<number> {
    return inContext("postgres", "heartbeat", async () => {
      const { rowCount } = await this.pool.query("UPDATE check_run_leases SET lease_expires_at = $2 WHERE owner = $1 AND NOT closed", [
        owner,
        this.now().getTime() + leaseMs,
      ]);
      return rowCount ?? 0;
    });
  }

  async closed(key: string, id: number): Promise<void> {
    return inContext("postgres", "closed", async () => {
      await this.pool.query("UPDATE check_run_leases SET closed = true WHERE key = $1 AND check_run_id = $2", [key, id]);
    });
  }

  async resolved(key: string, owner: string): Promise<void> {
    return inContext("postgres", "resolved", async () => {
      await this.pool.query(
        "UPDATE check_run_leases SET closed = true WHERE key = $1 AND check_run_id IS NULL AND NOT closed AND (owner = $2 OR lease_expires_at <= $3)",
        [key, owner, this.now().getTime()],
      );
    });
  }
}
