import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createMetrics } from "../../src/server/metrics.js";
import { Worker } from "../../src/server/worker.js";
import type { ClaimedDelivery, DeliveryQueue } from "../../src/store/ports.js";
import { openSqliteStores } from "../../src/store/sqlite/index.js";
import { tempDir } from "../helpers/cli.js";

function setup(
  dispatch: (d: ClaimedDelivery) => Promise<void>,
  opts: { retryDelayMs?: number; leaseMs?: number; owner?: string; file?: string; concurrency?: number } = {},
) {
  const stores = openSqliteStores(opts.file ?? join(tempDir(), "w.db"));
  const queue: DeliveryQueue = stores.queue;
  const logs: string[] = [];
  const worker = new Worker({
    queue,
    owner: opts.owner ?? "replica-a",
    leaseMs: opts.leaseMs ?? 60_000,
    metrics: createMetrics(queue),
    dispatch,
    concurrency: opts.concurrency ?? 4,
    perInstallation: opts.concurrency ?? 4,
    maxAttempts: 3,
    retryDelayMs: opts.retryDelayMs ?? 1,
    log: (level, msg) => void logs.push(`${level}: ${msg}`),
  });
  const accept = (id: string, pr: number) =>
    queue.accept({
      id,
      event: "pull_request",
      action: "opened",
      payload: "{}",
      relevance: { evaluate: true, installationId: 1, prKey: `acme/web#${pr}`, headSha: "a" },
    });
  const status = async (id: string) => (await queue.statusOf(id))?.status;
  return { queue, worker, accept, status, logs, close: () => stores.close() };
}

describe("worker", () => {
  it("refills in batches under load: with 16 in flight it claims again once 2 have finished, not after each", async () => {
    const started: string[] = [];
    const release = new Map<string, () => void>();
    const w = setup((d) => new Promise<void>((resolve) => (started.push(d.id), release.set(d.id, resolve))), { concurrency: 16 });
    for (let pr = 1; pr <= 18; pr++) await w.accept(`d${pr}`, pr);
    await w.worker.wake();
    expect(started).toHaveLength(16);
    const settle = () => new Promise((r) => setTimeout(r, 30));
    release.get("d1")!();
    await settle();
    expect(started).toHaveLength(16);
    release.get("d2")!();
    await settle();
    expect(started).toEqual(Array.from({ length: 18 }, (_, i) => `d${i + 1}`));
    for (const r of release.values()) r();
    await w.worker.whenIdle();
    expect(await w.status("d18")).toBe("done");
    await w.worker.stop();
    await w.close();
  });

  it("waits before retrying a failed evaluation, then marks it failed after the last attempt", async () => {
    const times: number[] = [];
    const w = setup(
      () => {
        times.push(performance.now());
        return Promise.reject(new Error("GitHub is down"));
      },
      { retryDelayMs: 60 },
    );
    await w.accept("d1", 1);
    await w.worker.wake();
    await w.worker.whenIdle();
    expect(times).toHaveLength(3);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(55);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(110);
    expect(await w.status("d1")).toBe("failed");
  });

  it("puts a delivery whose evaluation failed during shutdown back in the queue for the next process", async () => {
    let release!: () => void;
    const w = setup(() => new Promise<void>((_, reject) => void (release = () => reject(new Error("aborted by shutdown")))));
    await w.accept("d1", 1);
    await w.worker.wake();
    const stopping = w.worker.stop();
    release();
    await stopping;
    expect(await w.status("d1")).toBe("queued");
  });

  it("keeps working when the queue cannot record a result, leaving that delivery's lease to expire", async () => {
    const w = setup(() => Promise.resolve());
    const finish = w.queue.finish.bind(w.queue);
    let broken = true;
    w.queue.finish = async (...args: Parameters<DeliveryQueue["finish"]>) => {
      if (broken) {
        broken = false;
        throw new Error("SQLITE_BUSY: database is locked");
      }
      return finish(...args);
    };
    await w.accept("d1", 1);
    await w.accept("d2", 2);
    await w.worker.wake();
    await new Promise((r) => setTimeout(r, 50));
    expect([await w.status("d1"), await w.status("d2")].sort()).toEqual(["done", "processing"]);
    expect(w.logs).toContain("error: could not mark a delivery done");
  });

  it("keeps a long evaluation's lease alive with heartbeats, so another replica never takes it", async () => {
    const file = join(tempDir(), "w.db");
    let finishSlow!: () => void;
    // Leases long enough that a loaded machine's stalls (two shared cores) do not outlast one, short enough to expire often.
    const slow = setup(() => new Promise<void>((r) => void (finishSlow = r)), { leaseMs: 400, file });
    const other: string[] = [];
    const rival = setup((d) => Promise.resolve(void other.push(d.id)), { leaseMs: 400, owner: "replica-b", file });
    await slow.accept("d1", 1);
    await slow.worker.wake();
    // Five lease lengths later the rival, claiming all along, has still not been given the delivery.
    for (let i = 0; i < 15; i++) {
      await new Promise((r) => setTimeout(r, 135));
      await rival.worker.wake();
    }
    expect(other).toEqual([]);
    expect(await slow.status("d1")).toBe("processing");
    finishSlow();
    await slow.worker.stop();
    expect(await slow.status("d1")).toBe("done");
    await rival.worker.stop();
  });
});
