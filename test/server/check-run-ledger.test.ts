import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { SqliteCheckRunLedger } from "../../src/server/check-run-ledger.js";
import { tempDir } from "../helpers/cli.js";

const KEY = "acme/webapp@" + "a".repeat(40);

describe("check run ledger", () => {
  it("answers none for a commit Governor never started a check on, so GitHub need not be asked", () => {
    const ledger = new SqliteCheckRunLedger(new Database(join(tempDir(), "l.db")));
    expect(ledger.lookup(KEY)).toBe("none");
  });

  it("answers ask when a create was started but its id never recorded (a crash mid-create)", () => {
    const ledger = new SqliteCheckRunLedger(new Database(join(tempDir(), "l.db")));
    ledger.intend(KEY);
    expect(ledger.lookup(KEY)).toBe("ask");
  });

  it("remembers the id across a restart on the same file", () => {
    const file = join(tempDir(), "l.db");
    const first = new SqliteCheckRunLedger(new Database(file));
    first.intend(KEY);
    first.record(KEY, 42);
    expect(new SqliteCheckRunLedger(new Database(file)).lookup(KEY)).toBe(42);
  });
});
