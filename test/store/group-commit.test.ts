// Group commit in front of the audit log port, on SQLite and on PostgreSQL: concurrent appends share one transaction,
// each resolving only after it committed; a failed transaction rejects every caller in it; the chain is the one that
// appending one at a time gives.
import { afterEach, describe, expect, it } from "vitest";
import type { AuditEntry } from "../../src/audit/store.js";
import { StoreError } from "../../src/store/errors.js";
import { GroupCommitError, groupCommit } from "../../src/store/group-commit.js";
import type { AuditLog } from "../../src/store/ports.js";
import { entryFor, oneOfEach } from "../helpers/audit.js";
import { backends, type Opened } from "./backends.js";

const opened: Opened[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

function agentEntries(n: number, start = 1): AuditEntry[] {
  return Array.from({ length: n }, (_, i) =>
    entryFor({ pr: start + i, files: ["docs/a.md"], at: `2026-11-24T12:${String(i % 60).padStart(2, "0")}:00.000Z`, delivery: `d-${start + i}` }),
  );
}

/** The store, with every append it receives recorded (how many transactions, of how many entries), held until `release`. */
function watched(inner: AuditLog): { log: AuditLog; appends: number[]; hold(): void; release(): void } {
  const appends: number[] = [];
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  const log = Object.create(inner) as AuditLog;
  log.append = async (entries) => {
    appends.push(entries.length);
    if (gate) await gate;
    return inner.append(entries);
  };
  return {
    log,
    appends,
    hold: () => void (gate = new Promise((r) => (open = r))),
    release: () => open?.(),
  };
}

describe.each(backends)("group commit on $name", (backend) => {
  const open = async () => {
    const s = await backend.open();
    opened.push(s);
    return s;
  };

  it("commits appends made together as one transaction, in call order, each caller given its own rows", async () => {
    const { audit } = await open();
    const store = watched(audit);
    const log = groupCommit(store.log);
    const [a, b, c] = await Promise.all([log.append(agentEntries(2, 1)), log.append(agentEntries(1, 3)), log.append(agentEntries(3, 4))]);
    expect(store.appends).toEqual([6]);
    expect([a, b, c].map((rows) => rows?.map((r) => r.id))).toEqual([[1, 2], [3], [4, 5, 6]]);
    expect((await audit.list({ limit: 10 })).map((r) => r.pr).reverse()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await audit.verify()).toEqual({ rows: 6, broken: null });
  });

  it("resolves no caller before the shared transaction committed", async () => {
    const { audit } = await open();
    const store = watched(audit);
    const log = groupCommit(store.log);
    store.hold();
    const settled: number[] = [];
    const calls = [1, 2, 3].map((pr) => log.append(agentEntries(1, pr)).then((rows) => (settled.push(pr), rows)));
    await new Promise((r) => setTimeout(r, 50));
    expect(store.appends).toEqual([3]);
    expect(settled).toEqual([]);
    expect(await audit.count()).toBe(0);
    store.release();
    await Promise.all(calls);
    expect(settled.sort()).toEqual([1, 2, 3]);
    expect(await audit.count()).toBe(3);
  });

  it("gathers the appends that arrive while a transaction is in flight into the next one", async () => {
    const { audit } = await open();
    const store = watched(audit);
    const commits: Array<{ entries: number; callers: number }> = [];
    const log = groupCommit(store.log, { onCommit: (c) => commits.push(c) });
    store.hold();
    const first = log.append(agentEntries(1, 1));
    await new Promise((r) => setTimeout(r, 20));
    const later = [2, 3, 4, 5].map((pr) => log.append(agentEntries(1, pr)));
    await new Promise((r) => setTimeout(r, 20));
    store.release();
    await Promise.all([first, ...later]);
    expect(commits).toEqual([
      { entries: 1, callers: 1 },
      { entries: 4, callers: 4 },
    ]);
    expect(await audit.verify()).toEqual({ rows: 5, broken: null });
  });

  it("keeps a transaction within maxEntries without splitting one caller's append", async () => {
    const { audit } = await open();
    const store = watched(audit);
    const log = groupCommit(store.log, { maxEntries: 4 });
    await Promise.all([log.append(agentEntries(2, 1)), log.append(agentEntries(2, 3)), log.append(agentEntries(5, 5)), log.append(agentEntries(1, 10))]);
    expect(store.appends).toEqual([4, 5, 1]);
    expect(await audit.verify()).toEqual({ rows: 10, broken: null });
  });

  it("rejects every caller of a failed transaction, writes none of their entries, and goes on with the next", async () => {
    const { audit } = await open();
    const log = groupCommit(audit);
    const [poisoned] = agentEntries(1, 2);
    // A decision that cannot be serialised: the store refuses the whole transaction.
    const bad = { ...poisoned!, decision: { ...poisoned!.decision, files_considered: 1n as unknown as number } };
    const results = await Promise.allSettled([log.append(agentEntries(1, 1)), log.append([bad]), log.append(agentEntries(1, 3))]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
    for (const r of results) {
      const reason = (r as PromiseRejectedResult).reason as GroupCommitError;
      expect(reason).toBeInstanceOf(GroupCommitError);
      expect(reason).toBeInstanceOf(StoreError);
      expect(reason).toMatchObject({ store: backend.name, operation: "append", entries: 3, callers: 3 });
      expect(reason.message).toMatch(/none was written/);
    }
    expect(await audit.count()).toBe(0);
    const after = await log.append(agentEntries(1, 4));
    expect(after.map((r) => r.id)).toEqual([1]);
    expect(await audit.verify()).toEqual({ rows: 1, broken: null });
  });

  it("gives the rows, ids and hashes that appending one at a time gives", async () => {
    const entries = [...oneOfEach(), ...agentEntries(6, 20)];
    const alone = (await open()).audit;
    const oneByOne = [];
    for (const e of entries) oneByOne.push(...(await alone.append([e])));
    const grouped = groupCommit((await open()).audit);
    const together = (await Promise.all(entries.map((e) => grouped.append([e])))).flat();
    expect(together).toEqual(oneByOne);
    expect(await grouped.verify()).toEqual({ rows: entries.length, broken: null });
  });
});
