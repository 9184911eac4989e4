import { describe, expect, it } from "vitest";
import { compileInput } from "../../src/policy/decide.js";
import { nextWindowChange } from "../../src/policy/windows.js";
import { decideCase } from "../helpers/policy.js";

const POLICY = `version: 1
owners: { users: [alice] }
rules:
  - id: freeze
    match: { paths: ["src/**"] }
    action: deny
    active: { from: 2026-12-20, until: 2026-12-31 }
  - id: launch
    match: { paths: ["web/**"] }
    action: deny
    active: { until: "2026-12-01T09:30:00+01:00" }
`;

function compiled(text: string) {
  const c = compileInput({ repo: { text, path: ".governance.yml" } });
  if (!c.ok) throw new Error(JSON.stringify(c.errors));
  return c.policy;
}

describe("nextWindowChange", () => {
  it("gives the earliest boundary after the instant, with a zoned time converted to UTC", () => {
    expect(nextWindowChange(compiled(POLICY), new Date("2026-11-24T12:00:00Z"))?.toISOString()).toBe("2026-12-01T08:30:00.000Z");
  });

  it("treats a bare from date as midnight UTC", () => {
    expect(nextWindowChange(compiled(POLICY), new Date("2026-12-01T08:30:00Z"))?.toISOString()).toBe("2026-12-20T00:00:00.000Z");
  });

  it("treats a bare until date as the end of that day (exclusive), the instant the rule stops applying", () => {
    const policy = compiled(POLICY);
    const end = nextWindowChange(policy, new Date("2026-12-20T00:00:00Z"));
    expect(end?.toISOString()).toBe("2027-01-01T00:00:00.000Z");
    const before = decideCase({ policy: POLICY, files: ["src/a.ts"], now: new Date(end!.getTime() - 1).toISOString() });
    const at = decideCase({ policy: POLICY, files: ["src/a.ts"], now: end!.toISOString() });
    expect(before.rules.map((r) => r.id)).toContain("repo:freeze");
    expect(at.rules.map((r) => r.id)).not.toContain("repo:freeze");
  });

  it("is strictly after the given instant: a boundary equal to it is not returned again", () => {
    expect(nextWindowChange(compiled(POLICY), new Date("2026-12-20T00:00:00Z"))?.toISOString()).not.toBe("2026-12-20T00:00:00.000Z");
  });

  it("is null when every boundary has passed or no rule has a window", () => {
    expect(nextWindowChange(compiled(POLICY), new Date("2027-01-01T00:00:00Z"))).toBeNull();
    expect(nextWindowChange(compiled("version: 1\nowners: { users: [a] }\nrules: []\n"), new Date("2026-01-01T00:00:00Z"))).toBeNull();
  });
});
