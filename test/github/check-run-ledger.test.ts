import { describe, expect, it } from "vitest";
import { MemoryCheckRunLedger } from "../../src/github/report.js";

describe("MemoryCheckRunLedger", () => {
  it("still knows a commit it resolved again recently after 10,000 other commits were resolved", async () => {
    const ledger = new MemoryCheckRunLedger();
    await ledger.resolved("acme/webapp@hot");
    for (let i = 0; i < 9_999; i++) await ledger.resolved(`acme/webapp@${i}`);
    await ledger.resolved("acme/webapp@hot");
    await ledger.resolved("acme/webapp@newest");
    expect(await ledger.open("acme/webapp@hot")).toEqual({ ids: [], unknown: false });
  });

  it("forgets the commit resolved longest ago once it has seen more than 10,000", async () => {
    const ledger = new MemoryCheckRunLedger();
    for (let i = 0; i <= 10_000; i++) await ledger.resolved(`acme/webapp@${i}`);
    expect([(await ledger.open("acme/webapp@0")).unknown, (await ledger.open("acme/webapp@1")).unknown]).toEqual([true, false]);
  });
});
