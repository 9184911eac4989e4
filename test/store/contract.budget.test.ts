// The budget counter port on SQLite and PostgreSQL: atomic reserve-and-count, stable positions, exact under a burst.
import { afterEach, describe, expect, it } from "vitest";
import { backends, type Opened } from "./backends.js";

const opened: Opened[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

const DAY = 86_400_000;
const T = Date.parse("2026-11-24T12:00:00.000Z");
const at = (ms: number) => new Date(T + ms);
const base = { scope: "acme/webapp", agent: "copilot", windowMs: DAY };

describe.each(backends)("BudgetCounter on $name", (backend) => {
  const open = async () => {
    const s = await backend.open();
    opened.push(s);
    return s;
  };

  it("numbers an agent's PRs in the window in the order they are reserved", async () => {
    const { budget } = await open();
    expect(await budget.reserve({ ...base, pr: 1, at: at(0) })).toBe(1);
    expect(await budget.reserve({ ...base, pr: 2, at: at(1000) })).toBe(2);
    expect(await budget.reserve({ ...base, pr: 3, at: at(2000) })).toBe(3);
  });

  it("gives a PR reserved again the position it got first", async () => {
    const { budget } = await open();
    await budget.reserve({ ...base, pr: 1, at: at(0) });
    await budget.reserve({ ...base, pr: 2, at: at(0) });
    expect(await budget.reserve({ ...base, pr: 1, at: at(5000) })).toBe(1);
    expect(await budget.reserve({ ...base, pr: 3, at: at(0) })).toBe(3);
  });

  it("counts only reservations inside the window, and of the same scope and agent", async () => {
    const { budget } = await open();
    await budget.reserve({ ...base, pr: 1, at: at(0) });
    await budget.reserve({ ...base, agent: "devin", pr: 2, at: at(0) });
    await budget.reserve({ ...base, scope: "acme/other", pr: 3, at: at(0) });
    expect(await budget.reserve({ ...base, pr: 4, at: at(DAY - 1) })).toBe(2);
    expect(await budget.reserve({ ...base, pr: 5, at: at(DAY) })).toBe(2);
  });

  it("counts a PR opened later but reserved earlier, so a staggered burst cannot share a position", async () => {
    const { budget } = await open();
    expect(await budget.reserve({ ...base, pr: 1, at: at(60_000) })).toBe(1);
    expect(await budget.reserve({ ...base, pr: 2, at: at(0) })).toBe(2);
  });

  it("gives exactly one of each position 1..N to a concurrent burst from three connections", async () => {
    const first = await open();
    const connections = [first, await first.connect(), await first.connect()];
    const positions = await Promise.all(Array.from({ length: 30 }, (_, i) => (connections[i % 3] as Opened).budget.reserve({ ...base, pr: 100 + i, at: at(0) })));
    expect([...positions].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const again = await Promise.all(Array.from({ length: 30 }, (_, i) => (connections[(i + 1) % 3] as Opened).budget.reserve({ ...base, pr: 100 + i, at: at(60_000) })));
    expect(again).toEqual(positions);
  });
});
