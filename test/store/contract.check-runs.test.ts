// The check-run ledger port with owners and leases, on SQLite and PostgreSQL: a replica closes only what it owns or
// what a dead replica's expired lease left behind.
import { afterEach, describe, expect, it } from "vitest";
import { backends, manualClock, type Opened } from "./backends.js";

const opened: Opened[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

const KEY = "acme/webapp@" + "a".repeat(40);

describe.each(backends)("CheckRunLeases on $name", (backend) => {
  const open = async () => {
    const clock = manualClock();
    const s = await backend.open({ now: clock.now });
    opened.push(s);
    return { ...s, clock };
  };

  it("records a start before its id and forgets the run once it is closed", async () => {
    const { checkRuns } = await open();
    const token = await checkRuns.intend(KEY, "r1", 60_000);
    expect(await checkRuns.open(KEY, "r1")).toEqual({ ids: [], unknown: true, heldElsewhere: [], pendingElsewhere: false });
    await checkRuns.started(token, 101);
    expect(await checkRuns.open(KEY, "r1")).toEqual({ ids: [101], unknown: false, heldElsewhere: [], pendingElsewhere: false });
    await checkRuns.closed(KEY, 101);
    expect(await checkRuns.open(KEY, "r1")).toEqual({ ids: [], unknown: false, heldElsewhere: [], pendingElsewhere: false });
  });

  it("shows another replica's live runs as held elsewhere, never as closable", async () => {
    const { checkRuns } = await open();
    await checkRuns.started(await checkRuns.intend(KEY, "r1", 60_000), 101);
    await checkRuns.intend(KEY, "r1", 60_000);
    expect(await checkRuns.open(KEY, "r2")).toEqual({ ids: [], unknown: false, heldElsewhere: [101], pendingElsewhere: true });
  });

  it("lets any replica close a run once its owner's lease expired", async () => {
    const { checkRuns, clock } = await open();
    await checkRuns.started(await checkRuns.intend(KEY, "dead", 1000), 101);
    await checkRuns.intend(KEY, "dead", 1000);
    clock.advance(1000);
    expect(await checkRuns.open(KEY, "r2")).toEqual({ ids: [101], unknown: true, heldElsewhere: [], pendingElsewhere: false });
  });

  it("keeps an owner's runs held while it heartbeats", async () => {
    const { checkRuns, clock } = await open();
    await checkRuns.started(await checkRuns.intend(KEY, "r1", 1000), 101);
    await checkRuns.started(await checkRuns.intend(KEY, "r2", 1000), 102);
    clock.advance(900);
    expect(await checkRuns.heartbeat("r1", 1000)).toBe(1);
    clock.advance(200);
    expect(await checkRuns.open(KEY, "r3")).toMatchObject({ ids: [102], heldElsewhere: [101] });
  });

  it("resolves only the id-less starts the replica may close", async () => {
    const { checkRuns, clock } = await open();
    await checkRuns.intend(KEY, "r1", 1000);
    await checkRuns.intend(KEY, "r2", 5000);
    await checkRuns.resolved(KEY, "r3");
    expect(await checkRuns.open(KEY, "r3")).toMatchObject({ unknown: false, pendingElsewhere: true });
    clock.advance(1000);
    expect(await checkRuns.open(KEY, "r3")).toMatchObject({ unknown: true, pendingElsewhere: true });
    await checkRuns.resolved(KEY, "r3");
    expect(await checkRuns.open(KEY, "r3")).toMatchObject({ unknown: false, pendingElsewhere: true });
    await checkRuns.resolved(KEY, "r2");
    expect(await checkRuns.open(KEY, "r3")).toMatchObject({ unknown: false, pendingElsewhere: false });
  });

  it("shares starts between connections, as replicas on one database do", async () => {
    const s = await open();
    const other = await s.connect();
    await s.checkRuns.started(await s.checkRuns.intend(KEY, "r1", 60_000), 101);
    expect(await other.checkRuns.open(KEY, "r2")).toMatchObject({ heldElsewhere: [101] });
    await other.checkRuns.closed(KEY, 101);
    expect(await s.checkRuns.open(KEY, "r1")).toMatchObject({ ids: [] });
  });
});
