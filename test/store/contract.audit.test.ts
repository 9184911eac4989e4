// The audit log port, on SQLite and on PostgreSQL alike: one chain, the same hashes, the same verify findings.
import { afterEach, describe, expect, it } from "vitest";
import type { AuditEntry } from "../../src/audit/store.js";
import { StoreError } from "../../src/store/errors.js";
import { entryFor, oneOfEach } from "../helpers/audit.js";
import { backends, postgresBackend, sqliteBackend, type Opened } from "./backends.js";

const opened: Opened[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** Agent PRs with a creation time, so the budget table has entries. */
function agentEntries(n: number, start = 1): AuditEntry[] {
  return Array.from({ length: n }, (_, i) =>
    entryFor({ pr: start + i, files: ["docs/a.md"], at: `2026-11-24T12:${String(i % 60).padStart(2, "0")}:00.000Z`, delivery: `d-${start + i}` }),
  );
}

describe.each(backends)("AuditLog on $name", (backend) => {
  const open = async () => {
    const s = await backend.open();
    opened.push(s);
    return s;
  };

  it("appends a batch as consecutive rows, each linked to the one before", async () => {
    const { audit } = await open();
    const first = await audit.append(oneOfEach());
    const second = await audit.append(agentEntries(3, 20));
    expect([...first, ...second].map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const rows = await collect(audit.iterate());
    expect(rows.map((r) => r.hash)).toEqual([...first, ...second].map((r) => r.hash));
    expect(rows.slice(1).map((r) => r.prev_hash)).toEqual(rows.slice(0, -1).map((r) => r.hash));
    expect(await audit.verify()).toEqual({ rows: 9, broken: null });
  });

  it("gives back each entry's input exactly as evaluated, its policy text stored once", async () => {
    const { audit } = await open();
    const entries = agentEntries(5);
    await audit.append(entries);
    const rows = await collect(audit.iterate());
    expect(rows.map((r): unknown => JSON.parse(r.input ?? "null"))).toEqual(entries.map((e): unknown => JSON.parse(JSON.stringify(e.input))));
    expect((await collect(audit.policyTexts())).length).toBe(1);
    expect((await collect(audit.iterateStored()))[0]?.input).toContain("\\u0000policy:sha256:");
  });

  it("lists newest first with filters, and reads one row", async () => {
    const { audit } = await open();
    await audit.append([...oneOfEach(), ...agentEntries(4, 30)]);
    expect((await audit.list({ limit: 3 })).map((r) => r.id)).toEqual([10, 9, 8]);
    expect((await audit.list({ outcome: "error" })).map((r) => r.pr).sort()).toEqual([5, 9]);
    expect((await audit.list({ pr: 31 })).map((r) => r.id)).toEqual([8]);
    expect((await audit.list({ since: "2026-11-24T12:01:00.000Z", until: "2026-11-24T12:03:00.000Z", repo: "acme/webapp" })).map((r) => r.pr)).toEqual([
      32, 31,
    ]);
    expect((await audit.get(8))?.pr).toBe(31);
    expect(await audit.get(99)).toBeUndefined();
    expect(await audit.count()).toBe(10);
  });

  it("iterates oldest first past one page, honouring a limit", async () => {
    const { audit } = await open();
    await audit.append(agentEntries(1200));
    const ids = (await collect(audit.iterate())).map((r) => r.id);
    expect(ids).toEqual(Array.from({ length: 1200 }, (_, i) => i + 1));
    expect((await collect(audit.iterate({ limit: 1001 }))).length).toBe(1001);
  });

  it("goes on appending while an export iterates, on the same connection", async () => {
    const { audit } = await open();
    await audit.append(agentEntries(1500));
    let seen = 0;
    for await (const row of audit.iterate()) {
      if (row.id % 500 === 0) await audit.append(agentEntries(1, 2000 + row.id));
      seen++;
    }
    for await (const row of audit.latestPerPr({ limit: 3 })) await audit.append(agentEntries(1, 3000 + row.pr));
    expect(seen).toBeGreaterThanOrEqual(1500);
    expect(await audit.verify()).toMatchObject({ broken: null });
  });

  it("finds the latest decision of a PR, of each PR, and of each PR at a head commit", async () => {
    const { audit } = await open();
    const older = entryFor({ pr: 7, files: ["docs/a.md"], at: "2026-11-24T11:00:00.000Z", change: { head_sha: "c".repeat(40) } });
    const newer = entryFor({ pr: 7, files: ["db/migrations/1.sql"], at: "2026-11-24T13:00:00.000Z", change: { head_sha: "c".repeat(40) } });
    const other = entryFor({ pr: 8, files: ["docs/a.md"], change: { head_sha: "c".repeat(40) } });
    await audit.append([older, other, newer, ...agentEntries(2, 40)]);
    expect((await audit.latestForPr("acme/webapp", 7))?.id).toBe(3);
    expect((await audit.latestForHead("acme/webapp", "c".repeat(40))).map((r) => [r.pr, r.outcome])).toEqual([
      [7, newer.outcome],
      [8, other.outcome],
    ]);
    expect((await collect(audit.latestPerPr())).map((r) => [r.pr, r.id])).toEqual([
      [7, 3],
      [8, 2],
      [40, 4],
      [41, 5],
    ]);
    expect((await collect(audit.latestPerPr({ until: "2026-11-24T12:00:00.000Z", pr: 7 }))).map((r) => r.id)).toEqual([1]);
  });

  it("counts an agent's PRs in a window with ties broken by number", async () => {
    const { audit } = await open();
    await audit.append(agentEntries(5));
    const agent = (await audit.get(1))?.agent as string;
    const q = { repo: "acme/webapp", agent, since: "2026-11-23T12:00:00.000Z" };
    expect(await audit.countAgentPrs({ ...q, until: "2026-11-24T12:03:00.000Z" })).toBe(3);
    expect(await audit.countAgentPrs({ ...q, until: "2026-11-24T12:03:00.000Z", excludePr: 1 })).toBe(2);
  });

  it("keeps one chain when three connections append at once", async () => {
    const first = await open();
    const others = [first, await first.connect(), await first.connect()];
    await Promise.all(others.map((s, k) => Promise.all(Array.from({ length: 10 }, (_, i) => s.audit.append(agentEntries(3, 100 * (k + 1) + 3 * i))))));
    expect(await first.audit.verify()).toEqual({ rows: 90, broken: null });
  });

  it("verify names a row edited after it was written", async () => {
    const s = await open();
    await s.audit.append(oneOfEach());
    await s.sql("UPDATE decisions SET outcome = 'allowed' WHERE id = 3");
    expect((await s.audit.verify()).broken).toEqual({ id: 3, problem: "row 3 was edited: its content does not match its hash" });
  });

  it("verify names rows deleted from the middle", async () => {
    const s = await open();
    await s.audit.append(oneOfEach());
    await s.sql("DELETE FROM decisions WHERE id IN (2, 3)");
    expect((await s.audit.verify()).broken?.problem).toBe("rows 2..3 are missing (deleted): row 4 links to a hash that is not the row before it");
  });

  it("verify names a deleted policy text and an edited budget table", async () => {
    const s = await open();
    await s.audit.append(agentEntries(2));
    await s.sql("UPDATE agent_prs SET created_at = '2020-01-01T00:00:00.000Z' WHERE pr = 2");
    expect((await s.audit.verify()).broken?.problem).toBe("the budget table (agent_prs) does not follow from the decisions at acme/webapp#2: it was edited");
    await s.sql("DELETE FROM policy_texts");
    expect((await s.audit.verify()).broken?.problem).toMatch(/^row 1 refers to policy text [0-9a-f]{12}, which was deleted$/);
  });

  it("keeps each PR's agents as sticky identities with its rows, and verify names an edited identity table", async () => {
    const s = await open();
    const entries = agentEntries(2);
    await s.audit.append(entries);
    const agent = entries[0]!.agent!;
    expect(await s.audit.knownAgents("acme/webapp", 1)).toEqual([agent]);
    expect(await s.audit.knownAgents("acme/webapp", 99)).toEqual([]);
    await s.sql("DELETE FROM pr_identities WHERE pr = 2");
    expect((await s.audit.verify()).broken?.problem).toMatch(/identity table \(pr_identities\) lacks 1/);
  });

  it("ends a PR's sticky identity with a release row in the same batch, and verify agrees", async () => {
    const { audit } = await open();
    const [governed] = agentEntries(1);
    const release: AuditEntry = {
      ...governed!,
      agent: null,
      outcome: "not_governed",
      input: null,
      input_missing_reason: "released by @dana (was copilot): a human took it over",
    };
    const [again] = agentEntries(1);
    await audit.append([governed!, release]);
    expect(await audit.knownAgents("acme/webapp", 1)).toEqual([]);
    await audit.append([again!]);
    expect(await audit.knownAgents("acme/webapp", 1)).toEqual([governed!.agent]);
    expect((await audit.verify()).broken).toBeNull();
  });

  it("keeps the time-window schedule: due ones oldest first, cleared only at the due time queued", async () => {
    const { audit } = await open();
    await audit.scheduleReevaluation({ repo: "acme/webapp", pr: 1, installationId: 7, dueAt: "2026-11-24T13:00:00.000Z" });
    await audit.scheduleReevaluation({ repo: "acme/webapp", pr: 2, installationId: null, dueAt: "2026-11-24T12:30:00.000Z" });
    await audit.scheduleReevaluation({ repo: "acme/webapp", pr: 3, installationId: 7, dueAt: "2026-11-25T00:00:00.000Z" });
    const due = await audit.dueReevaluations(new Date("2026-11-24T14:00:00.000Z"));
    expect(due.map((d) => [d.pr, d.installationId])).toEqual([
      [2, null],
      [1, 7],
    ]);
    await audit.scheduleReevaluation({ repo: "acme/webapp", pr: 1, installationId: 7, dueAt: "2026-11-24T13:30:00.000Z" });
    for (const d of due) await audit.clearReevaluation(d);
    expect((await audit.dueReevaluations(new Date("2026-11-24T14:00:00.000Z"))).map((d) => d.pr)).toEqual([1]);
  });

  it("verify refuses a table with a column Governor never writes", async () => {
    const s = await open();
    await s.audit.append(agentEntries(1));
    await s.sql("ALTER TABLE decisions ADD COLUMN extra TEXT");
    expect((await s.audit.verify()).broken).toEqual({ id: null, problem: "the decisions table has columns Governor never writes (extra)" });
  });

  it("verify checks anchors shown on GitHub", async () => {
    const { audit } = await open();
    const [row] = await audit.append(agentEntries(1));
    expect((await audit.verify({ expect: [{ id: 1, hash: row?.hash.slice(0, 12) as string }] })).broken).toBeNull();
    expect((await audit.verify({ expect: [{ id: 2, hash: "abc" }] })).broken?.problem).toBe(
      "row 2, shown on GitHub, is not in the trail: rows were cut off or the chain rebuilt",
    );
  });

  it("imports stored rows with their hashes, and refuses rows that do not continue the chain", async () => {
    const from = await open();
    const to = await open();
    await from.audit.append([...oneOfEach(), ...agentEntries(3, 50)]);
    const rows = await collect(from.audit.iterateStored());
    await to.audit.importStored(rows.slice(0, 4), await collect(from.audit.policyTexts()));
    await expect(to.audit.importStored(rows.slice(5), [])).rejects.toThrow("cannot import: row 6 does not follow row 4");
    await expect(to.audit.importStored([{ ...rows[4]!, title: "forged" }], [])).rejects.toThrow("cannot import: row 5 does not match its hash");
    await to.audit.importStored(rows.slice(4), []);
    expect(await to.audit.verify()).toEqual({ rows: 9, broken: null });
    expect((await collect(to.audit.iterate())).map((r) => r.hash)).toEqual(rows.map((r) => r.hash));
  });
  it("finds the overrides of a PR's head in its latest decision that carries any, and none for another head", async () => {
    const s = await open();
    const [plain, overridden, later] = [1, 2, 3].map((i) => entryFor({ pr: 7, files: ["docs/a.md"], delivery: `o-${i}` }));
    const head = overridden!.head_sha;
    const override = { by: "alice", reason: "hotfix", at: "2026-11-24T12:00:00Z", head_sha: head, source: "repo" as const };
    overridden!.input!.change.overrides = [override, { ...override, by: "bob", head_sha: "f".repeat(40) }];
    await s.audit.append([plain!, overridden!, later!]);
    expect(await s.audit.overridesFor("acme/webapp", 7, head)).toEqual([override]);
    expect(await s.audit.overridesFor("acme/webapp", 7, "f".repeat(40))).toEqual([]);
    expect(await s.audit.overridesFor("acme/webapp", 8, head)).toEqual([]);
  });

  it("records a workflow job once per job id, and reads jobs by repository and by owner", async () => {
    const s = await open();
    const job = (jobId: number, repo: string, completedAt: string) => ({
      jobId,
      repo,
      runId: 7,
      workflow: "copilot",
      path: ".github/workflows/copilot.yml",
      headBranch: "copilot/fix",
      startedAt: "2026-11-24T11:00:00Z",
      completedAt,
      deliveryId: `w-${jobId}`,
    });
    expect(await s.audit.recordWorkflowJob(job(1, "acme/webapp", "2026-11-24T11:10:00Z"))).toEqual({ recorded: true });
    expect(await s.audit.recordWorkflowJob({ ...job(1, "acme/webapp", "2026-11-24T11:30:00Z"), deliveryId: "w-again" })).toEqual({ recorded: false });
    await s.audit.recordWorkflowJob(job(2, "Acme/api", "2026-11-24T11:05:00Z"));
    await s.audit.recordWorkflowJob(job(3, "other/x", "2026-11-24T11:05:00Z"));
    const window = { since: "2026-11-24T11:00:00Z", until: "2026-11-24T12:00:00Z" };
    expect(await s.audit.workflowJobs({ repo: "acme/webapp", ...window })).toEqual([
      {
        jobId: 1,
        repo: "acme/webapp",
        runId: 7,
        workflow: "copilot",
        path: ".github/workflows/copilot.yml",
        headBranch: "copilot/fix",
        completedAt: "2026-11-24T11:10:00.000Z",
        seconds: 600,
      },
    ]);
    expect((await s.audit.workflowJobs({ owner: "ACME", ...window })).map((j) => j.jobId)).toEqual([1, 2]);
    expect(await s.audit.workflowJobs({ owner: "acme", since: "2026-11-24T11:10:00Z", until: "2026-11-24T12:00:00Z" })).toEqual([]);
  });

  it("verify checks the week's and the org's budget places a decision was made with, on the store and on a copy", async () => {
    const s = await open();
    const entries = [1, 2].map((pr) => entryFor({ pr, files: ["docs/a.md"], at: `2026-11-24T12:0${pr}:00.000Z`, delivery: `d-${pr}` }));
    for (const entry of entries) {
      const places = await s.budget.reservePlaces({
        repo: entry.repo,
        org: "acme",
        agents: [entry.agent!],
        pr: entry.pr,
        openedAt: entry.input!.change.created_at ?? entry.recorded_at,
      });
      Object.assign(entry.input!.context.usage, {
        prs_by_agent: places.repo.day,
        prs_by_agent_week: places.repo.week,
        org_prs_by_agent: places.org!.day,
        org_prs_by_agent_week: places.org!.week,
      });
    }
    await s.audit.append(entries);
    expect(await s.audit.verify()).toEqual({ rows: 2, broken: null });
    const copy = await open();
    await copy.audit.importStored(await collect(s.audit.iterateStored()), await collect(s.audit.policyTexts()));
    expect(await copy.audit.verify()).toEqual({ rows: 2, broken: null });
    const table = backend.name === "sqlite" ? "agent_budget_places" : "budget_reservations";
    await s.sql(`UPDATE ${table} SET week_position = 1 WHERE pr = 2 AND scope = 'acme/webapp'`);
    expect((await s.audit.verify()).broken?.problem).toMatch(
      /^row 2 was decided as copilot's PR number 2 of the week, but the budget reservations .*say 1: they were edited$/,
    );
    await copy.sql(`UPDATE ${table} SET position = 1 WHERE pr = 2 AND scope = 'org:acme'`);
    expect((await copy.audit.verify()).broken?.problem).toMatch(
      /^row 2 was decided as copilot's PR number 2 of the day across the org, but the budget reservations .*say 1: they were edited$/,
    );
  });
});

describe("AuditLog across stores", () => {
  it("writes byte-identical rows and hashes on SQLite and PostgreSQL for the same entries", async () => {
    const sqlite = await sqliteBackend.open();
    const postgres = await postgresBackend.open();
    opened.push(sqlite, postgres);
    const entries = [...oneOfEach(), ...agentEntries(5, 60)];
    const a = await sqlite.audit.append(entries);
    const b = await postgres.audit.append(entries);
    expect(b).toEqual(a);
    expect(await collect(postgres.audit.iterateStored())).toEqual(await collect(sqlite.audit.iterateStored()));
    expect(await collect(postgres.audit.iterate())).toEqual(await collect(sqlite.audit.iterate()));
  });
});

describe("AuditLog errors on PostgreSQL", () => {
  it("fails an append it cannot store with a StoreError naming the operation, writing nothing of the batch", async () => {
    const s = await postgresBackend.open();
    opened.push(s);
    // PostgreSQL text cannot hold U+0000; SQLite can. The row is refused loudly rather than stored altered.
    const bad = entryFor({ pr: 2, files: ["docs/a.md"] });
    bad.agent = "bot\u0000";
    const error = await s.audit.append([entryFor({ pr: 1, files: ["docs/a.md"] }), bad]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ store: "postgres", operation: "append" });
    expect((error as Error).message).toMatch(/^postgres: append failed: /);
    expect(await s.audit.count()).toBe(0);
    expect((await s.audit.append([entryFor({ pr: 1, files: ["docs/a.md"] })]))[0]?.id).toBe(1);
  });
});
