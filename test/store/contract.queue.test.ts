// The delivery queue port on SQLite and PostgreSQL: dedupe, coalescing, leases, and limits that hold across replicas.
import { afterEach, describe, expect, it } from "vitest";
import type { ClaimedDelivery, DeliveryQueue, IncomingDelivery } from "../../src/store/ports.js";
import { backends, manualClock, type Opened } from "./backends.js";

const opened: Opened[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

const PR = (n: number) => `acme/webapp#${n}`;

function delivery(id: string, pr: number | null, installation = 1, evaluate = true): IncomingDelivery {
  return {
    id,
    event: "pull_request",
    action: "synchronize",
    payload: JSON.stringify({ id, pr }),
    relevance: { evaluate, ...(evaluate ? {} : { why: "not evaluated" }), installationId: installation, prKey: pr === null ? null : PR(pr), headSha: null },
  };
}

const claim = (queue: DeliveryQueue, owner: string, max = 10, installationLimit = 10, leaseMs = 30_000) =>
  queue.claim({ owner, max, leaseMs, installationLimit });
const ids = (claimed: ClaimedDelivery[]) => claimed.map((d) => d.id);

describe.each(backends)("DeliveryQueue on $name", (backend) => {
  const open = async (clock = manualClock()) => {
    const s = await backend.open({ now: clock.now });
    opened.push(s);
    return { ...s, clock };
  };

  it("stores a delivery once: a redelivery of the same id is a duplicate", async () => {
    const { queue } = await open();
    expect(await queue.accept(delivery("d1", 1))).toEqual({ status: "queued" });
    expect(await queue.accept(delivery("d1", 1))).toEqual({ status: "duplicate" });
    expect(await queue.accept(delivery("d2", null, 1, false))).toEqual({ status: "ignored" });
    expect(await queue.depth()).toBe(1);
    expect(await queue.statusOf("d2")).toMatchObject({ status: "ignored", note: "not evaluated", lease: null });
  });

  it("stores a delivery once when its redelivery arrives in the same moment", async () => {
    const { queue } = await open();
    const results = await Promise.all([queue.accept(delivery("d1", 1)), queue.accept(delivery("d1", 1)), queue.accept(delivery("d2", 2))]);
    // Either copy of d1 may be the one stored (PostgreSQL runs the accepts on separate connections): one is, once.
    expect(
      results
        .slice(0, 2)
        .map((r) => r.status)
        .sort(),
    ).toEqual(["duplicate", "queued"]);
    expect(results[2]?.status).toBe("queued");
    expect(await queue.depth()).toBe(2);
  });

  it("answers a claim at once when every installation with work is at its cap, without waiting for the lock another replica's claim holds", async () => {
    const s = await open();
    const other = await s.connect();
    for (let pr = 1; pr <= 3; pr++) await s.queue.accept(delivery(`i1-${pr}`, pr, 1));
    expect(ids(await claim(s.queue, "r1", 10, 1))).toEqual(["i1-1"]);
    const release = await s.blockClaims();
    try {
      expect(await claim(other.queue, "r2", 10, 1)).toEqual([]);
    } finally {
      await release();
    }
    await s.queue.finish("r1", "i1-1", "done");
    expect(ids(await claim(other.queue, "r2", 10, 1))).toEqual(["i1-2"]);
  });

  it("claims only the newest queued delivery of a PR and marks the older ones superseded", async () => {
    const { queue, clock } = await open();
    for (const id of ["a1", "a2", "a3"]) await queue.accept(delivery(id, 1));
    await queue.accept(delivery("b1", 2));
    const claimed = await claim(queue, "r1");
    expect(ids(claimed)).toEqual(["a3", "b1"]);
    expect(claimed[0]).toMatchObject({
      attempts: 1,
      payload: JSON.stringify({ id: "a3", pr: 1 }),
      prKey: PR(1),
      installationId: 1,
      lease: { owner: "r1", expiresAt: new Date(clock.now().getTime() + 30_000) },
    });
    expect(await queue.statusOf("a1")).toMatchObject({ status: "superseded", note: "superseded by delivery a3" });
    expect(await queue.counts()).toMatchObject({ superseded: 2, processing: 2, queued: 0 });
  });

  it("never leases a PR twice at once, whichever replica asks", async () => {
    const s = await open();
    const other = await s.connect();
    await s.queue.accept(delivery("a1", 1));
    expect(ids(await claim(s.queue, "r1"))).toEqual(["a1"]);
    await s.queue.accept(delivery("a2", 1));
    expect(await claim(other.queue, "r2")).toEqual([]);
    expect(await s.queue.finish("r1", "a1", "done")).toBe(true);
    expect(ids(await claim(other.queue, "r2"))).toEqual(["a2"]);
  });

  it("holds the per-installation cap over every replica's leases", async () => {
    const s = await open();
    const other = await s.connect();
    for (let pr = 1; pr <= 5; pr++) await s.queue.accept(delivery(`i1-${pr}`, pr, 1));
    await s.queue.accept(delivery("i2-9", 9, 2));
    expect(ids(await claim(s.queue, "r1", 10, 2))).toEqual(["i1-1", "i1-2", "i2-9"]);
    expect(await claim(other.queue, "r2", 10, 2)).toEqual([]);
    await s.queue.finish("r1", "i1-1", "done");
    expect(ids(await claim(other.queue, "r2", 10, 2))).toEqual(["i1-3"]);
  });

  it("requeues a delivery only after its lease expired, and then the old owner can no longer finish it", async () => {
    const s = await open();
    await s.queue.accept(delivery("a1", 1));
    await claim(s.queue, "r1", 10, 10, 1000);
    s.clock.advance(999);
    expect(await s.queue.reclaimExpired()).toBe(0);
    expect(await claim(s.queue, "r2")).toEqual([]);
    s.clock.advance(1);
    expect(await s.queue.reclaimExpired()).toBe(1);
    expect(await s.queue.statusOf("a1")).toMatchObject({ status: "queued", lease: null, attempts: 1 });
    expect(await s.queue.finish("r1", "a1", "done")).toBe(false);
    const again = await claim(s.queue, "r2");
    expect(again.map((d) => [d.id, d.attempts, d.lease.owner])).toEqual([["a1", 2, "r2"]]);
    expect(await s.queue.finish("r1", "a1", "done")).toBe(false);
    expect(await s.queue.finish("r2", "a1", "done")).toBe(true);
  });

  it("takes over a dead replica's work on the next claim once its lease expired", async () => {
    const s = await open();
    await s.queue.accept(delivery("a1", 1));
    await claim(s.queue, "dead", 10, 10, 1000);
    s.clock.advance(1000);
    expect(ids(await claim(s.queue, "alive"))).toEqual(["a1"]);
  });

  it("keeps a lease alive while its owner heartbeats, and renews only the owner's", async () => {
    const s = await open();
    await s.queue.accept(delivery("a1", 1));
    await s.queue.accept(delivery("b1", 2));
    await claim(s.queue, "r1", 1, 10, 1000);
    await claim(s.queue, "r2", 1, 10, 1000);
    s.clock.advance(800);
    expect(await s.queue.heartbeat("r1", ["a1", "b1"], 1000)).toEqual(["a1"]);
    s.clock.advance(500);
    expect(await s.queue.reclaimExpired()).toBe(1);
    expect(await s.queue.statusOf("a1")).toMatchObject({ status: "processing", lease: { owner: "r1" } });
    expect(await s.queue.statusOf("b1")).toMatchObject({ status: "queued" });
  });

  it("puts a failed attempt back in the queue, then records it failed with its note", async () => {
    const { queue } = await open();
    await queue.accept(delivery("a1", 1));
    await claim(queue, "r1");
    expect(await queue.finish("r1", "a1", "queued", "GitHub answered 502")).toBe(true);
    expect(await queue.statusOf("a1")).toMatchObject({ status: "queued", note: "GitHub answered 502", attempts: 1 });
    expect((await claim(queue, "r1"))[0]?.attempts).toBe(2);
    await queue.finish("r1", "a1", "failed", "gave up");
    expect(await queue.statusOf("a1")).toMatchObject({ status: "failed", note: "gave up", lease: null });
    expect(await queue.depth()).toBe(0);
  });

  it("prunes finished deliveries older than the cut, never queued or leased ones", async () => {
    const s = await open();
    await s.queue.accept(delivery("old-done", 1));
    await s.queue.accept(delivery("old-ignored", null, 1, false));
    await s.queue.accept(delivery("old-queued", 2));
    await claim(s.queue, "r1", 1);
    await s.queue.finish("r1", "old-done", "done");
    s.clock.advance(10_000);
    await s.queue.accept(delivery("new-ignored", null, 1, false));
    expect(await s.queue.prune(new Date(s.clock.now().getTime() - 5_000))).toBe(2);
    expect(await s.queue.statusOf("old-queued")).toMatchObject({ status: "queued" });
    expect(await s.queue.statusOf("new-ignored")).toMatchObject({ status: "ignored" });
  });

  it("three replicas work 200 deliveries over 20 PRs and 5 installations: each once, one per PR at a time, within the cap", async () => {
    const first = await open(manualClock(Date.now()));
    const replicas = [first, await first.connect(), await first.connect()];
    const CAP = 2;
    const leasedPrs = new Set<string>();
    const perInstallation = new Map<number, number>();
    const evaluated: string[] = [];
    const violations: string[] = [];
    let accepted = 0;
    const acceptSome = async (n: number) => {
      for (; n > 0 && accepted < 200; n--) {
        const i = accepted++;
        await first.queue.accept(delivery(`d${i}`, i % 20, i % 5));
      }
    };
    await acceptSome(40);
    const work = async (queue: DeliveryQueue, owner: string) => {
      for (let idle = 0; idle < 50;) {
        const claimed = await claim(queue, owner, 4, CAP);
        if (claimed.length === 0) {
          idle = (await queue.depth()) === 0 && accepted >= 200 ? idle + 1 : 0;
          await new Promise((r) => setTimeout(r, 2));
          continue;
        }
        await Promise.all(
          claimed.map(async (d) => {
            const inst = d.installationId ?? -1;
            if (leasedPrs.has(d.prKey as string)) violations.push(`${d.prKey} leased twice`);
            leasedPrs.add(d.prKey as string);
            perInstallation.set(inst, (perInstallation.get(inst) ?? 0) + 1);
            if ((perInstallation.get(inst) ?? 0) > CAP) violations.push(`installation ${inst} over its cap`);
            await new Promise((r) => setTimeout(r, Math.random() * 4));
            evaluated.push(d.id);
            leasedPrs.delete(d.prKey as string);
            perInstallation.set(inst, (perInstallation.get(inst) ?? 1) - 1);
            if (!(await queue.finish(owner, d.id, "done"))) violations.push(`${d.id} lost its lease`);
          }),
        );
        await acceptSome(8);
      }
    };
    await Promise.all(replicas.map((r, i) => work(r.queue, `replica-${i}`)));
    expect(violations).toEqual([]);
    expect(new Set(evaluated).size).toBe(evaluated.length);
    const counts = await first.queue.counts();
    expect(counts.done).toBe(evaluated.length);
    expect(counts.done + counts.superseded).toBe(200);
    // The newest delivery of every PR is evaluated: it can be superseded by nothing.
    for (let pr = 0; pr < 20; pr++) expect(evaluated).toContain(`d${180 + pr}`);
  });
});
