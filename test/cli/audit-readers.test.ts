// The audit readers (list, show, verify, export, replay) as a user meets them: they never change the file, they say
// plainly what is wrong with a file that is not a current audit database, and they stop quietly when the reader does.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { openAuditStore } from "../../src/audit/store.js";
import { SCHEMA_VERSION } from "../../src/audit/schema.js";
import { entryFor, oneOfEach } from "../helpers/audit.js";
import { BIN, run, tempDir } from "../helpers/cli.js";

function seeded(entries = oneOfEach()): { dir: string; path: string } {
  const dir = tempDir();
  const path = join(dir, "governor.db");
  const store = openAuditStore(path);
  store.recordBatch(entries);
  store.close();
  return { dir, path };
}

/** The file as the previous schema left it (before migration 5 -> 6 added budget places by scope and workflow jobs). */
function downgrade(path: string): void {
  expect(SCHEMA_VERSION).toBe(6); // a new migration needs this undone too
  const db = new Database(path);
  db.exec(`
    DROP TABLE workflow_jobs;
    CREATE TABLE places_v5 (seq INTEGER PRIMARY KEY AUTOINCREMENT, repo TEXT NOT NULL, agent TEXT NOT NULL, pr INTEGER NOT NULL,
      opened_at TEXT NOT NULL, position INTEGER NOT NULL, UNIQUE (repo, agent, pr));
    INSERT INTO places_v5 (seq, repo, agent, pr, opened_at, position)
      SELECT seq, repo, agent, pr, opened_at, position FROM agent_budget_places WHERE scope = repo ORDER BY seq;
    DROP TABLE agent_budget_places;
    ALTER TABLE places_v5 RENAME TO agent_budget_places;
    CREATE INDEX agent_budget_places_window ON agent_budget_places (repo, agent, opened_at);
  `);
  db.pragma("user_version = 5");
  db.close();
}

const digest = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

describe("audit readers and the file", () => {
  it("report a file written by an older Governor with the command that upgrades it, and leave it unchanged", async () => {
    const { dir, path } = seeded();
    downgrade(path);
    const before = digest(path);
    for (const args of [
      ["audit", "verify"],
      ["audit", "list"],
      ["audit", "export"],
    ]) {
      const r = await run(args, { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(
        `has audit schema ${SCHEMA_VERSION - 1}, older than this Governor's (${SCHEMA_VERSION}); upgrade it first with: governor audit migrate --db ${path}`,
      );
    }
    expect(digest(path)).toBe(before);
  });

  it("governor audit migrate upgrades an older file, after which verify reads it", async () => {
    const { dir, path } = seeded();
    downgrade(path);
    const migrated = await run(["audit", "migrate"], { cwd: dir });
    expect(migrated.stdout).toContain(`upgraded from audit schema ${SCHEMA_VERSION - 1} to ${SCHEMA_VERSION}`);
    const verify = await run(["audit", "verify"], { cwd: dir });
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain("chain intact: 6 rows verified");
  });

  it("call an empty file empty", async () => {
    const dir = tempDir({ "governor.db": "" });
    const r = await run(["audit", "verify"], { cwd: dir });
    expect([r.code, r.stderr.trim()]).toEqual([2, `governor: ${join(dir, "governor.db")} is empty: not an audit database`]);
  });

  it("call a file that is not SQLite not an audit database", async () => {
    const dir = tempDir({ "governor.db": "id,repo\n1,acme/webapp\n".repeat(300) });
    const r = await run(["audit", "list"], { cwd: dir });
    expect([r.code, r.stderr.trim()]).toEqual([2, `governor: ${join(dir, "governor.db")} is not an audit database (not an SQLite file)`]);
  });

  it("call another SQLite database not a Governor audit database", async () => {
    const dir = tempDir();
    const db = new Database(join(dir, "governor.db"));
    db.exec("CREATE TABLE notes (text TEXT)");
    db.close();
    const r = await run(["audit", "verify"], { cwd: dir });
    expect([r.code, r.stderr.trim()]).toEqual([2, `governor: ${join(dir, "governor.db")} is an SQLite database, but not a Governor audit database`]);
  });
});

describe("audit export", () => {
  it("ends quietly when the reader stops early (export | head)", () => {
    const small = entryFor({ files: ["docs/a.md"] });
    const { dir } = seeded(Array.from({ length: 3000 }, (_, i) => ({ ...small, pr: i + 1 })));
    const r = spawnSync(
      "bash",
      ["-c", `set -o pipefail; "${process.execPath}" "${BIN}" audit export | head -n 1 > /dev/null; echo "governor exit \${PIPESTATUS[0]}" >&2`],
      { cwd: dir, encoding: "utf8" },
    );
    expect(r.stderr.trim()).toBe("governor exit 0");
  });

  it("puts each decision's rule ids and reasons in the CSV", async () => {
    const { dir } = seeded();
    const r = await run(["audit", "export", "--format", "csv", "--outcome", "denied"], { cwd: dir });
    const [head, row] = r.stdout.split("\r\n");
    expect(head?.endsWith(",hash,rules,reasons")).toBe(true);
    expect(row).toMatch(/,repo:billing-freeze,"?repo:billing-freeze: Billing is frozen until the compliance audit\./);
  });
});
