import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { Inbox, type InboxDelivery } from "../../src/server/inbox.js";
import { createMetrics } from "../../src/server/metrics.js";
import { Worker } from "../../src/server/worker.js";
import { tempDir } from "../helpers/cli.js";

function setup(dispatch: (d: InboxDelivery) => Promise<void>, opts: { retryDelayMs?: number } = {}) {
  const db = new Database(join(tempDir(), "w.db"));
  db.pragma("journal_mode = WAL");
  const inbox = new Inbox(db);
  const logs: string[] = [];
  const worker = new Worker({
    inbox, metrics: createMetrics(inbox), dispatch, concurrency: 4, perInstallation: 4, maxAttempts: 3,
    retryDelayMs: opts.retryDelayMs ?? 1, log: (level, msg) => void logs.push(`${level}: ${msg}`),
  });
  const accept = (id: string, pr: number) => inbox.accept({ id, event: "pull_request", action: "opened", payload: "{}", relevance: { evaluate: true, installationId: 1, prKey: `acme/web#${pr}`, headSha: "a" } });
  const status = (id: string) => (db.prepare("SELECT status FROM inbox WHERE delivery_id = ?").get(id) as { status: string }).status;
  return { inbox, worker, accept, status, logs };
}

describe("worker", () => {
  it("waits before retrying a failed evaluation, then marks it failed after the last attempt", async () => {
    const times: number[] = [];
    const w = setup(async () => {
      times.push(performance.now());
      throw new Error("GitHub is down");
    }, { retryDelayMs: 60 });
    w.accept("d1", 1);
    w.worker.wake();
    await w.worker.whenIdle();
    expect(times).toHaveLength(3);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(55);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(110);
    expect(w.status("d1")).toBe("failed");
  });

  it("puts a delivery whose evaluation failed during shutdown back in the queue for the next process", async () => {
    let release!: () => void;
    const w = setup(() => new Promise<void>((_, reject) => void (release = () => reject(new Error("aborted by shutdown")))));
    w.accept("d1", 1);
    w.worker.wake();
    const stopping = w.worker.stop();
    release();
    await stopping;
    expect(w.status("d1")).toBe("queued");
  });

  it("keeps working when the inbox cannot record a result, leaving that delivery to recovery", async () => {
    const w = setup(async () => undefined);
    const finish = w.inbox.finish.bind(w.inbox);
    let broken = true;
    w.inbox.finish = (...args: Parameters<Inbox["finish"]>) => {
      if (broken) {
        broken = false;
        throw new Error("SQLITE_BUSY: database is locked");
      }
      finish(...args);
    };
    w.accept("d1", 1);
    w.accept("d2", 2);
    w.worker.wake();
    await new Promise((r) => setTimeout(r, 50));
    expect([w.status("d1"), w.status("d2")].sort()).toEqual(["done", "processing"]);
    expect(w.logs).toContain("error: could not mark a delivery done");
    expect(w.inbox.recover()).toBe(1);
  });
});
