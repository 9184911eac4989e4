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

/** The file as the previous schema left it (before migration 6 -> 7 dropped the rowids of the budget and identity tables). */
function downgrade(path: string): void {
  expect(SCHEMA_VERSION).toBe(7); // a new migration needs this undone too
  const db = new Database(path);
  db.exec(`
    CREATE TABLE agent_prs_v6 (repo TEXT NOT NULL, pr INTEGER NOT NULL, agent TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (repo, pr));
    INSERT INTO agent_prs_v6 SELECT repo, pr, agent, created_at FROM agent_prs;
    DROP TABLE agent_prs;
    ALTER TABLE agent_prs_v6 RENAME TO agent_prs;
    CREATE INDEX agent_prs_window ON agent_prs (repo, agent, created_at);
    CREATE TABLE pr_identities_v6 (repo TEXT NOT NULL, pr INTEGER NOT NULL, agent TEXT NOT NULL, first_row INTEGER NOT NULL, PRIMARY KEY (repo, pr, agent));
    INSERT INTO pr_identities_v6 SELECT repo, pr, agent, first_row FROM pr_identities;
    DROP TABLE pr_identities;
    ALTER TABLE pr_identities_v6 RENAME TO pr_identities;
  `);
  db.pragma("user_version = 6");
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
