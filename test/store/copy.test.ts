// Copying a SQLite audit trail to PostgreSQL keeps every id and hash: verify passes on the copy.
import { afterEach, describe, expect, it } from "vitest";
import { copyAuditTrail } from "../../src/store/copy.js";
import type { AuditLog, AuditRecord } from "../../src/store/ports.js";
import { entryFor, oneOfEach } from "../helpers/audit.js";
import { postgresBackend, sqliteBackend, type Opened } from "./backends.js";

const opened: Opened[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

async function stored(log: AuditLog): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for await (const row of log.iterateStored()) out.push(row);
  return out;
}

const more = (from: number, n: number) => Array.from({ length: n }, (_, i) => entryFor({ pr: from + i, files: ["docs/a.md"] }));

describe("copyAuditTrail from SQLite to PostgreSQL", () => {
  const both = async () => {
    const sqlite = await sqliteBackend.open();
    const postgres = await postgresBackend.open();
    opened.push(sqlite, postgres);
    return { sqlite, postgres };
  };

  it("copies every row with its id and hash, and verify passes on the copy", async () => {
    const { sqlite, postgres } = await both();
    await sqlite.audit.append([...oneOfEach(), ...more(10, 700)]);
    const texts: string[] = [];
    for await (const t of sqlite.audit.policyTexts()) texts.push(t.sha256);
    const result = await copyAuditTrail(sqlite.audit, postgres.audit, { batch: 256 });
    expect(result).toEqual({ skipped: 0, copied: 706, texts: texts.length, jobs: 0, reevaluations: 0, verified: { rows: 706, broken: null } });
    expect(await stored(postgres.audit)).toEqual(await stored(sqlite.audit));
    expect(
      await postgres.audit.countAgentPrs({
        repo: "acme/webapp",
        agent: (await sqlite.audit.get(10))?.agent as string,
        since: "2000-01-01T00:00:00.000Z",
        until: "2100-01-01T00:00:00.000Z",
      }),
    ).toBe(
      await sqlite.audit.countAgentPrs({
        repo: "acme/webapp",
        agent: (await sqlite.audit.get(10))?.agent as string,
        since: "2000-01-01T00:00:00.000Z",
        until: "2100-01-01T00:00:00.000Z",
      }),
    );
  });

  it("carries the workflow jobs and the scheduled re-evaluations, each once, also when resumed", async () => {
    const { sqlite, postgres } = await both();
    await sqlite.audit.append(more(1, 2));
    const job = (jobId: number, minutes: number) => ({
      jobId,
      repo: "acme/webapp",
      runId: 40 + jobId,
      workflow: "Copilot cloud agent",
      path: "dynamic/copilot-swe-agent/copilot",
      headBranch: `copilot/${jobId}`,
      startedAt: "2026-11-24T11:00:00.000Z",
      completedAt: new Date(Date.parse("2026-11-24T11:00:00.000Z") + minutes * 60_000).toISOString(),
      deliveryId: `w-${jobId}`,
    });
    for (const j of [job(1, 7), job(2, 50)]) await sqlite.audit.recordWorkflowJob(j);
    await sqlite.audit.scheduleReevaluation({ repo: "acme/webapp", pr: 2, installationId: 1, dueAt: "2026-11-25T09:00:00.000Z" });
    expect(await copyAuditTrail(sqlite.audit, postgres.audit)).toMatchObject({ copied: 2, jobs: 2, reevaluations: 1 });
    await sqlite.audit.recordWorkflowJob(job(3, 1));
    expect(await copyAuditTrail(sqlite.audit, postgres.audit)).toMatchObject({ copied: 0, jobs: 1 });
    const window = { since: "2026-11-24T00:00:00.000Z", until: "2026-11-25T00:00:00.000Z" };
    expect(await postgres.audit.allWorkflowJobs(window)).toEqual(await sqlite.audit.allWorkflowJobs(window));
    expect((await postgres.audit.allWorkflowJobs(window)).map((j) => j.seconds)).toEqual([420, 3000, 60]);
    expect(await postgres.audit.dueReevaluations(new Date("2026-11-26T00:00:00.000Z"))).toEqual([
      { repo: "acme/webapp", pr: 2, installationId: 1, dueAt: "2026-11-25T09:00:00.000Z" },
    ]);
  });

  it("resumes from the copy's head, and new appends on PostgreSQL continue the same chain", async () => {
    const { sqlite, postgres } = await both();
    await sqlite.audit.append(more(1, 5));
    await copyAuditTrail(sqlite.audit, postgres.audit);
    await sqlite.audit.append(more(6, 3));
    expect(await copyAuditTrail(sqlite.audit, postgres.audit)).toMatchObject({ skipped: 5, copied: 3, verified: { rows: 8, broken: null } });
    const [next] = await postgres.audit.append(more(9, 1));
    const [same] = await sqlite.audit.append(more(9, 1));
    expect(next).toEqual(same);
  });

  it("refuses a target that holds another chain", async () => {
    const { sqlite, postgres } = await both();
    await sqlite.audit.append(more(1, 3));
    await postgres.audit.append(more(50, 1));
    await expect(copyAuditTrail(sqlite.audit, postgres.audit)).rejects.toThrow("cannot import: row 2 does not link to row 1");
  });

  it("refuses to copy a source that does not verify, copying nothing", async () => {
    const { sqlite, postgres } = await both();
    await sqlite.audit.append(more(1, 3));
    await sqlite.sql("UPDATE decisions SET title = 'forged' WHERE id = 2");
    await expect(copyAuditTrail(sqlite.audit, postgres.audit)).rejects.toThrow(
      "the source trail does not verify (row 2 was edited: its content does not match its hash); nothing was copied",
    );
    expect(await postgres.audit.count()).toBe(0);
  });
});
