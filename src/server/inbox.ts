// The durable inbox: every verified delivery is stored before GitHub gets its answer, and worked off from here.
// A restart picks up what was unfinished; a delivery id is evaluated at most once; queued deliveries of one PR coalesce.
import type Database from "better-sqlite3";
import type { Relevance } from "./relevance.js";

export type DeliveryStatus = "queued" | "processing" | "done" | "superseded" | "failed" | "ignored";

export interface InboxDelivery {
  seq: number;
  id: string;
  event: string;
  payload: string;
  installationId: number | null;
  prKey: string | null;
  headSha: string | null;
  attempts: number;
}

export interface AcceptResult {
  status: "queued" | "ignored" | "duplicate";
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS inbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  delivery_id TEXT NOT NULL UNIQUE,
  event TEXT NOT NULL,
  action TEXT,
  installation_id INTEGER,
  pr_key TEXT,
  head_sha TEXT,
  payload TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  received_at TEXT NOT NULL,
  finished_at TEXT,
  note TEXT
);
CREATE INDEX IF NOT EXISTS inbox_queue ON inbox (status, seq);
CREATE INDEX IF NOT EXISTS inbox_pr ON inbox (pr_key, status);
`;

interface Row {
  seq: number;
  delivery_id: string;
  event: string;
  payload: string;
  installation_id: number | null;
  pr_key: string | null;
  head_sha: string | null;
  attempts: number;
}

const toDelivery = (r: Row): InboxDelivery => ({
  seq: r.seq,
  id: r.delivery_id,
  event: r.event,
  payload: r.payload,
  installationId: r.installation_id,
  prKey: r.pr_key,
  headSha: r.head_sha,
  attempts: r.attempts,
});

export class Inbox {
  private readonly insert: Database.Statement;
  private readonly queued: Database.Statement;
  private readonly setStatus: Database.Statement;
  private readonly supersedeOlder: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly now: () => Date = () => new Date(),
  ) {
    db.exec(SCHEMA);
    this.insert = db.prepare(`INSERT OR IGNORE INTO inbox (delivery_id, event, action, installation_id, pr_key, head_sha, payload, status, received_at, note)
      VALUES (@id, @event, @action, @installationId, @prKey, @headSha, @payload, @status, @at, @note)`);
    this.queued = db.prepare(
      "SELECT seq, delivery_id, event, payload, installation_id, pr_key, head_sha, attempts FROM inbox WHERE status = 'queued' ORDER BY seq LIMIT ?",
    );
    this.setStatus = db.prepare("UPDATE inbox SET status = @status, finished_at = @at, note = @note, attempts = attempts + @tried WHERE delivery_id = @id");
    this.supersedeOlder = db.prepare(
      "UPDATE inbox SET status = 'superseded', finished_at = @at, note = @note WHERE pr_key = @prKey AND status = 'queued' AND seq < @seq",
    );
  }

  /** Stores a verified delivery. Returns `duplicate` for an id already stored (GitHub redeliveries, replays). */
  accept(d: { id: string; event: string; action: string | null; payload: string; relevance: Relevance }): AcceptResult {
    const status: DeliveryStatus = d.relevance.evaluate ? "queued" : "ignored";
    const info = this.insert.run({
      id: d.id,
      event: d.event,
      action: d.action,
      installationId: d.relevance.installationId,
      prKey: d.relevance.prKey,
      headSha: d.relevance.headSha,
      payload: d.payload,
      status,
      at: this.now().toISOString(),
      note: d.relevance.why ?? null,
    });
    if (info.changes === 0) return { status: "duplicate" };
    return { status: status === "queued" ? "queued" : "ignored" };
  }

  /**
   * Claims up to `max` deliveries to work on, skipping PRs already in flight and installations at their limit.
   * For a PR with several queued deliveries only the newest is claimed; the older ones are marked superseded.
   */
  claim(max: number, busy: { prKeys: ReadonlySet<string>; perInstallation: ReadonlyMap<number, number>; installationLimit: number }): InboxDelivery[] {
    const claimed: InboxDelivery[] = [];
    const take = this.db.transaction(() => {
      const at = this.now().toISOString();
      const rows = (this.queued.all(max * 20 + 50) as Row[]).map(toDelivery);
      const newestByPr = new Map<string, InboxDelivery>();
      for (const row of rows) if (row.prKey) newestByPr.set(row.prKey, row);
      const installations = new Map(busy.perInstallation);
      const seen = new Set<string>();
      for (const row of rows) {
        if (claimed.length >= max) break;
        const key = row.prKey;
        if (key) {
          if (seen.has(key) || busy.prKeys.has(key)) continue;
          seen.add(key);
        }
        const inst = row.installationId ?? -1;
        if ((installations.get(inst) ?? 0) >= busy.installationLimit) continue;
        const pick = key ? (newestByPr.get(key) ?? row) : row;
        if (key) this.supersedeOlder.run({ prKey: key, seq: pick.seq, at, note: `superseded by delivery ${pick.id}` });
        this.setStatus.run({ id: pick.id, status: "processing", at: null, note: null, tried: 1 });
        installations.set(inst, (installations.get(inst) ?? 0) + 1);
        claimed.push({ ...pick, attempts: pick.attempts + 1 });
      }
    });
    take.immediate();
    return claimed;
  }

  /**
   * Drops finished deliveries (done, superseded, ignored, failed) older than `before`, payloads and all: the audit
   * trail keeps every decision; the inbox only has to outlive GitHub's redeliveries. Returns how many went.
   */
  prune(before: Date): number {
    return this.db
      .prepare(
        `DELETE FROM inbox WHERE status IN ('done', 'superseded', 'ignored', 'failed')
      AND coalesce(finished_at, received_at) < ?`,
      )
      .run(before.toISOString()).changes;
  }

  finish(id: string, status: "done" | "failed" | "queued", note?: string): void {
    this.setStatus.run({ id, status, at: status === "queued" ? null : this.now().toISOString(), note: note ?? null, tried: 0 });
  }

  /** After a crash: whatever was being worked on goes back to the queue. */
  recover(): number {
    return this.db.prepare("UPDATE inbox SET status = 'queued' WHERE status = 'processing'").run().changes;
  }

  depth(): number {
    return (this.db.prepare("SELECT count(*) AS n FROM inbox WHERE status IN ('queued', 'processing')").get() as { n: number }).n;
  }

  counts(): Record<DeliveryStatus, number> {
    const out: Record<DeliveryStatus, number> = { queued: 0, processing: 0, done: 0, superseded: 0, failed: 0, ignored: 0 };
    for (const row of this.db.prepare("SELECT status, count(*) AS n FROM inbox GROUP BY status").all() as Array<{ status: DeliveryStatus; n: number }>) {
      out[row.status] = row.n;
    }
    return out;
  }

  statusOf(id: string): { status: DeliveryStatus; note: string | null; attempts: number } | undefined {
    return this.db.prepare("SELECT status, note, attempts FROM inbox WHERE delivery_id = ?").get(id) as
      { status: DeliveryStatus; note: string | null; attempts: number } | undefined;
  }
}
