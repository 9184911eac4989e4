// `governor migrate`, `audit copy`, `audit backup`, and verify/replay on PostgreSQL, through the CLI bin.
import { existsSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { openAuditStore } from "../../src/audit/store.js";
import { oneOfEach } from "../helpers/audit.js";
import { runBin, tempDir } from "../helpers/cli.js";
import { freshDatabase } from "../helpers/postgres.js";

/** A SQLite trail with one decision of each outcome (five replayable, one without inputs). */
function seeded(): string {
  const cwd = tempDir();
  const store = openAuditStore(join(cwd, "governor.db"));
  store.recordBatch(oneOfEach());
  store.close();
  return cwd;
}

async function sql(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

describe("governor migrate", () => {
  it("applies PostgreSQL's migrations once, saying which, then finds the schema current", async () => {
    const url = await freshDatabase("cli_migrate");
    const first = runBin(["migrate"], { cwd: tempDir(), env: { DATABASE_URL: url } });
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(
      "audit: schema 0 -> 3: decisions with their hash chain, the budget table and policy texts; sticky identities and the time-window schedule; workflow jobs",
    );
    expect(first.stdout).toContain("budget: schema 0 -> 2: budget reservations; budget places by scope and window");
    expect(first.stdout).toContain("queue: schema 0 -> 1: delivery queue with leases");
    const again = runBin(["migrate"], { cwd: tempDir(), env: { DATABASE_URL: url } });
    expect(again.stdout.trim().split("\n")).toEqual([
      "audit: schema 3, current",
      "queue: schema 1, current",
      "check_runs: schema 1, current",
      "budget: schema 2, current",
    ]);
  });
});

describe("the audit trail on PostgreSQL", () => {
  it("copies a SQLite trail with its hashes, and verify and replay pass on the copy", async () => {
    const cwd = seeded();
    const url = await freshDatabase("cli_copy");
    const copy = runBin(["audit", "copy", "--from", "sqlite:governor.db", "--to", url], { cwd });
    expect(copy.stdout).toContain("copied 6 rows (0 already there)");
    expect(copy.stdout).toContain("copy verified: 6 rows");
    const sourceHash = runBin(["audit", "show", "6", "--db", "governor.db"], { cwd }).stdout.match(/[0-9a-f]{64}/)?.[0];
    const verify = runBin(["audit", "verify", "--db", url, "--expect", `6:${sourceHash!.slice(0, 16)}`], { cwd });
    expect(verify.stdout.trim()).toBe("chain intact: 6 rows verified; 1 anchor from GitHub found");
    expect(verify.code).toBe(0);
    const replay = runBin(["audit", "replay", "--all"], { cwd: tempDir(), env: { DATABASE_URL: url } });
    expect(replay.stdout).toMatch(/replayed 5, identical 5, differing 0, older evaluator 0, skipped 1 in [\d.]+ s/);
    expect(replay.code).toBe(0);
  });

  it("verify on PostgreSQL names a row edited in the database and exits 1", async () => {
    const cwd = seeded();
    const url = await freshDatabase("cli_tamper");
    runBin(["audit", "copy", "--from", "sqlite:governor.db", "--to", url], { cwd });
    await sql(url, "UPDATE decisions SET outcome = 'allowed' WHERE id = 3");
    const verify = runBin(["audit", "verify"], { cwd, env: { DATABASE_URL: url } });
    expect(verify.stdout.trim()).toBe("chain broken at row 3: row 3 was edited: its content does not match its hash");
    expect(verify.code).toBe(1);
  });
});

describe("governor audit backup", () => {
  it("writes a consistent copy of the SQLite file that verifies on its own, and never overwrites", () => {
    const cwd = seeded();
    const backup = runBin(["audit", "backup", "backup.db"], { cwd });
    expect(backup.code).toBe(0);
    expect(existsSync(join(cwd, "backup.db"))).toBe(true);
    expect(runBin(["audit", "verify", "--db", "backup.db"], { cwd }).stdout.trim()).toBe("chain intact: 6 rows verified");
    const again = runBin(["audit", "backup", "backup.db"], { cwd });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("exists; a backup never overwrites");
  });
});
