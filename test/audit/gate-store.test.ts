import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openAuditStore } from "../../src/audit/store.js";
import { entryFor } from "../helpers/audit.js";
import { ROOT, tempDir } from "../helpers/cli.js";

const dbPath = () => join(tempDir(), "audit.db");

describe("audit store: budget reservations", () => {
  it("gives each PR of an agent the next place, keeps it on later calls, and counts only PRs opened within 24 hours before", () => {
    const store = openAuditStore(dbPath());
    const reserve = (pr: number, openedAt: string, agents = ["copilot"]) => store.reserveAgentPr({ repo: "acme/webapp", agents, pr, openedAt });
    expect(reserve(1, "2026-11-24T11:00:00Z")).toEqual({ copilot: 1 });
    expect(reserve(2, "2026-11-24T11:00:00Z", ["copilot", "claude"])).toEqual({ copilot: 2, claude: 1 });
    expect(reserve(1, "2026-11-24T11:00:00Z")).toEqual({ copilot: 1 });
    // A day and a minute later, PRs 1 and 2 have left the window.
    expect(reserve(3, "2026-11-25T11:01:00Z")).toEqual({ copilot: 1 });
    expect(store.reserveAgentPr({ repo: "acme/other", agents: ["copilot"], pr: 1, openedAt: "2026-11-24T11:00:00Z" })).toEqual({ copilot: 1 });
  });

  it("counts an org's places across its repositories and a week's places over 7 days, each PR's places fixed on later calls", async () => {
    const store = openAuditStore(dbPath());
    const reserve = (repo: string, pr: number, openedAt: string) => store.reserveBudgetPlaces({ repo, org: "Acme", agents: ["copilot"], pr, openedAt });
    expect(await reserve("acme/webapp", 1, "2026-11-20T11:00:00Z")).toEqual({
      repo: { day: { copilot: 1 }, week: { copilot: 1 } },
      org: { day: { copilot: 1 }, week: { copilot: 1 } },
    });
    expect(await reserve("acme/api", 1, "2026-11-24T10:00:00Z")).toEqual({
      repo: { day: { copilot: 1 }, week: { copilot: 1 } },
      org: { day: { copilot: 1 }, week: { copilot: 2 } },
    });
    expect(await reserve("acme/webapp", 2, "2026-11-24T11:00:00Z")).toEqual({
      repo: { day: { copilot: 1 }, week: { copilot: 2 } },
      org: { day: { copilot: 2 }, week: { copilot: 3 } },
    });
    expect(await reserve("acme/api", 1, "2026-11-24T10:00:00Z")).toEqual({
      repo: { day: { copilot: 1 }, week: { copilot: 1 } },
      org: { day: { copilot: 1 }, week: { copilot: 2 } },
    });
    // Another org's budget is its own.
    expect((await store.reserveBudgetPlaces({ repo: "other/x", org: "other", agents: ["copilot"], pr: 1, openedAt: "2026-11-24T11:00:00Z" })).org).toEqual({
      day: { copilot: 1 },
      week: { copilot: 1 },
    });
  });

  it("hands out distinct places to processes reserving at the same time on one file", async () => {
    const path = dbPath();
    openAuditStore(path).close();
    const run = (from: number) =>
      new Promise<Record<string, number>>((resolve, reject) => {
        const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "test/audit/reserve-child.ts"), path, String(from), "25"], {
          cwd: ROOT,
          stdio: ["ignore", "pipe", "inherit"],
        });
        let out = "";
        child.stdout.on("data", (c: Buffer) => void (out += c.toString()));
        child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out) as Record<string, number>) : reject(new Error(`child exited ${code}`))));
      });
    const all = await Promise.all([1, 26, 51, 76].map(run));
    const places = all.flatMap((o) => Object.values(o)).sort((a, b) => a - b);
    expect(places).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });
});

describe("audit store: sticky identities", () => {
  it("records every agent a decision names and ends them with a release row", () => {
    const store = openAuditStore(dbPath());
    store.record(entryFor({ pr: 7, files: ["docs/a.md"] }));
    expect(store.knownAgents("acme/webapp", 7)).toEqual(["copilot"]);
    const release = entryFor({ pr: 7, files: ["docs/a.md"] });
    store.record({ ...release, agent: null, outcome: "not_governed", input: null, input_missing_reason: "released by @olga (was copilot): taken over" });
    expect(store.knownAgents("acme/webapp", 7)).toEqual([]);
    expect(store.verify().broken).toBeNull();
  });

  it("verify reports an identity deleted from the table, which would let a PR shed its agent", () => {
    const store = openAuditStore(dbPath());
    store.record(entryFor({ pr: 7, files: ["docs/a.md"] }));
    store.db.prepare("DELETE FROM pr_identities").run();
    expect(store.verify().broken?.problem).toMatch(/^the identity table \(pr_identities\) lacks 1 agent identities/);
  });
});
