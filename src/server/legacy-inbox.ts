// Upgrading a SQLite deployment from the single-process inbox (table `inbox`) to the delivery queue with leases:
// deliveries the old build left unfinished move to the queue once, so an upgrade loses none.
import Database from "better-sqlite3";
import type { DeliveryQueue } from "../store/ports.js";

export async function adoptLegacyInbox(path: string, queue: DeliveryQueue): Promise<number> {
  const db = new Database(path);
  try {
    db.pragma("busy_timeout = 5000");
    if (!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'inbox'").get()) return 0;
    const rows = db
      .prepare("SELECT delivery_id, event, action, installation_id, pr_key, head_sha, payload FROM inbox WHERE status IN ('queued', 'processing') ORDER BY seq")
      .all() as Array<{
      delivery_id: string;
      event: string;
      action: string | null;
      installation_id: number | null;
      pr_key: string | null;
      head_sha: string | null;
      payload: string;
    }>;
    let moved = 0;
    for (const r of rows) {
      // Accepted first, then marked: a crash between the two moves it again, and the queue's dedupe keeps it once.
      const result = await queue.accept({
        id: r.delivery_id,
        event: r.event,
        action: r.action,
        payload: r.payload,
        relevance: { evaluate: true, installationId: r.installation_id, prKey: r.pr_key, headSha: r.head_sha },
      });
      db.prepare("UPDATE inbox SET status = 'superseded', note = 'moved to the delivery queue' WHERE delivery_id = ?").run(r.delivery_id);
      if (result.status === "queued") moved++;
    }
    return moved;
  } finally {
    db.close();
  }
}
