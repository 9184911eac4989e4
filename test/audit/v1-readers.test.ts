// Decisions recorded in the v1 shape (evaluator 1.3.0: prose inside the record) stay readable by every reader after
// v2: audit list/show, replay, simulate and the dashboard, through their real entry points.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type AuditEntry, openAuditStore } from "../../src/audit/store.js";
import { startLocalDashboard } from "../../src/dashboard/standalone.js";
import { EVALUATOR_VERSION } from "../../src/policy/decision.js";
import { run } from "../helpers/cli.js";
import { fixturePolicy } from "../helpers/policy.js";

const frozen = JSON.parse(readFileSync(new URL("../../fixtures/audit/one-of-each.json", import.meta.url), "utf8")) as AuditEntry[];

function seededV1(): string {
  const dir = mkdtempSync(join(tmpdir(), "governor-v1-readers-"));
  const store = openAuditStore(join(dir, "governor.db"));
  store.recordBatch(frozen);
  store.close();
  return dir;
}

const running: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.close();
});

describe("v1 decisions after the v2 evaluator", () => {
  it("are what the frozen fixture holds: v1, evaluator 1.3.0", () => {
    expect(new Set(frozen.map((e) => (e.decision as { schema: string }).schema))).toEqual(new Set(["governor.decision/v1"]));
  });

  it("audit list and show print their recorded title, summary and built-in reasons", async () => {
    const cwd = seededV1();
    expect((await run(["audit", "list"], { cwd })).stdout).toContain("Denied: repo:billing-freeze");
    const show = await run(["audit", "show", "3"], { cwd });
    expect(show.code).toBe(0);
    expect(show.stdout).toContain("Denied: repo:billing-freeze");
    expect(show.stdout).toContain((frozen[2]!.decision as unknown as { summary: string }).summary);
  });

  it("audit replay reports them as recorded by an older evaluator, not as tampering, and exits 0", async () => {
    const r = await run(["audit", "replay", "--all"], { cwd: seededV1() });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`row 3 (acme/webapp#3): recorded by evaluator 1.3.0, now ${EVALUATOR_VERSION}: not comparable byte for byte`);
    expect(r.stdout).toMatch(/differing 0, older evaluator 5, skipped 1/);
    expect(r.stdout).not.toContain("does not follow from its input");
  });

  it("simulate reads them and names the PRs by their recorded titles", async () => {
    const cwd = seededV1();
    writeFileSync(join(cwd, "same.yml"), fixturePolicy("webapp-monorepo.yml"));
    const r = await run(["simulate", "--policy", "same.yml"], { cwd });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\d+ PRs considered/);
  });

  it("the dashboard shows a v1 decision's title and reasons, and its replay badge says older evaluator", async () => {
    const d = await startLocalDashboard({ databasePath: join(seededV1(), "governor.db"), port: 0, host: "127.0.0.1", env: {} });
    running.push(d);
    const page = await (await fetch(`${d.url}/dashboard/decisions/3`)).text();
    expect(page).toContain("Denied: repo:billing-freeze");
    expect(page).toContain(`recorded by evaluator 1.3.0, now ${EVALUATOR_VERSION}: not comparable byte for byte`);
    const api = (await (await fetch(`${d.url}/api/decisions/3`)).json()) as { replay?: { status: string } };
    expect(api.replay?.status).toBe("older_evaluator");
  });
});

describe("v2 decisions in the audit trail", () => {
  it("fill the row's hashed title column from the shared renderer at record time", async () => {
    const { entryFor } = await import("../helpers/audit.js");
    const { decisionTitle } = await import("../../src/report/phrases.js");
    const store = openAuditStore(join(mkdtempSync(join(tmpdir(), "governor-v2-title-")), "governor.db"));
    try {
      const entry = entryFor({ files: ["apps/api/src/billing/x.ts"] });
      const row = store.get(store.record(entry).id)!;
      expect(row.title).toBe(decisionTitle(entry.decision));
      expect(row.title).toMatch(/^Denied: /);
      expect(JSON.parse(row.decision)).not.toHaveProperty("title");
    } finally {
      store.close();
    }
  });
});
