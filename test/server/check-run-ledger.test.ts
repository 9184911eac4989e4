import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { SqliteCheckRunLedger } from "../../src/server/check-run-ledger.js";
import { tempDir } from "../helpers/cli.js";

const KEY = "acme/webapp@" + "a".repeat(40);
const ledgerAt = (file = join(tempDir(), "l.db")) => new SqliteCheckRunLedger(new Database(file));

describe("check run ledger", () => {
  it("has nothing open for a commit Governor never started a check on, so GitHub need not be asked", () => {
    expect(ledgerAt().open(KEY)).toEqual({ ids: [], unknown: false });
  });

  it("reports a start whose id was never recorded (a crash mid-create) as unknown, until resolved", () => {
    const ledger = ledgerAt();
    ledger.intend(KEY);
    expect(ledger.open(KEY)).toEqual({ ids: [], unknown: true });
    ledger.resolved(KEY);
    expect(ledger.open(KEY)).toEqual({ ids: [], unknown: false });
  });

  it("remembers runs left in progress across a restart, and forgets them once closed", () => {
    const file = join(tempDir(), "l.db");
    const first = ledgerAt(file);
    first.started(first.intend(KEY), 41);
    first.started(first.intend(KEY), 42);
    first.closed(KEY, 42);
    const second = ledgerAt(file);
    expect(second.open(KEY)).toEqual({ ids: [41], unknown: false });
    second.closed(KEY, 41);
    expect(second.open(KEY)).toEqual({ ids: [], unknown: false });
  });

  it("replaces a ledger table of the pre-release shape instead of failing on it", () => {
    const file = join(tempDir(), "l.db");
    const db = new Database(file);
    db.exec("CREATE TABLE check_runs (key TEXT PRIMARY KEY, check_run_id INTEGER, at TEXT NOT NULL) WITHOUT ROWID");
    db.prepare("INSERT INTO check_runs VALUES (?, 7, 'x')").run(KEY);
    const ledger = new SqliteCheckRunLedger(db);
    ledger.started(ledger.intend(KEY), 8);
    expect(ledger.open(KEY)).toEqual({ ids: [8], unknown: false });
  });
});
