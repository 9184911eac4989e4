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
    const positions = await Promise.all(
      Array.from({ length: 30 }, (_, i) => (connections[i % 3] as Opened).budget.reserve({ ...base, pr: 100 + i, at: at(0) })),
    );
    expect([...positions].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const again = await Promise.all(
      Array.from({ length: 30 }, (_, i) => (connections[(i + 1) % 3] as Opened).budget.reserve({ ...base, pr: 100 + i, at: at(60_000) })),
    );
    expect(again).toEqual(positions);
  });
});

describe.each(backends)("BudgetCounter.reservePlaces on $name", (backend) => {
  const open = async () => {
    const s = await backend.open();
    opened.push(s);
    return s;
  };
  const iso = (ms: number) => at(ms).toISOString();
  const places = (s: Opened, repo: string, pr: number, openedMs: number, agents = ["copilot"]) =>
    s.budget.reservePlaces({ repo, org: "Acme", agents, pr, openedAt: iso(openedMs) });

  it("counts an org's places across its repositories, and each repository's apart", async () => {
    const s = await open();
    await places(s, "acme/webapp", 1, 0);
    await places(s, "acme/api", 1, 1000);
    const third = await places(s, "acme/webapp", 2, 2000);
    expect(third.repo).toEqual({ day: { copilot: 2 }, week: { copilot: 2 } });
    expect(third.org).toEqual({ day: { copilot: 3 }, week: { copilot: 3 } });
    // Another owner's org scope is its own.
    expect((await s.budget.reservePlaces({ repo: "other/x", org: "other", agents: ["copilot"], pr: 1, openedAt: iso(0) })).org).toEqual({
      day: { copilot: 1 },
      week: { copilot: 1 },
    });
  });

  it("counts a week's places past the day's window, and none past the week", async () => {
    const s = await open();
    await places(s, "acme/webapp", 1, 0);
    await places(s, "acme/webapp", 2, 3 * DAY);
    const later = await places(s, "acme/webapp", 3, 6 * DAY);
    expect(later.repo).toEqual({ day: { copilot: 1 }, week: { copilot: 3 } });
    const HOUR = DAY / 24;
    expect((await places(s, "acme/webapp", 4, 6 * DAY + 2 * HOUR)).repo).toEqual({ day: { copilot: 2 }, week: { copilot: 4 } });
    // A week after PR 1 opened, it no longer counts: PRs 2, 3 and 4 do.
    expect((await places(s, "acme/webapp", 5, 7 * DAY + HOUR)).repo).toEqual({ day: { copilot: 2 }, week: { copilot: 4 } });
  });

  it("gives a PR reserved again the places it got first, in every scope and window", async () => {
    const s = await open();
    const first = await places(s, "acme/webapp", 1, 0, ["copilot", "devin"]);
    await places(s, "acme/api", 2, 0);
    expect(await places(s, "acme/webapp", 1, 5000, ["copilot", "devin"])).toEqual(first);
    expect(first).toEqual({
      repo: { day: { copilot: 1, devin: 1 }, week: { copilot: 1, devin: 1 } },
      org: { day: { copilot: 1, devin: 1 }, week: { copilot: 1, devin: 1 } },
    });
  });

  it("gives exactly one of each org position 1..N to a concurrent burst over two repositories from three connections", async () => {
    const first = await open();
    const connections = [first, await first.connect(), await first.connect()];
    const got = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        (connections[i % 3] as Opened).budget.reservePlaces({
          repo: i % 2 ? "acme/webapp" : "acme/api",
          org: "acme",
          agents: ["copilot"],
          pr: 100 + i,
          openedAt: iso(0),
        }),
      ),
    );
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
    expect(sorted(got.map((p) => p.org!.day["copilot"]!))).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    expect(sorted(got.map((p) => p.org!.week["copilot"]!))).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    expect(sorted(got.filter((_, i) => i % 2).map((p) => p.repo.day["copilot"]!))).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });
});
