// Names that are also Object.prototype properties behave like any other name: no prototype lookups.
import { describe, expect, it } from "vitest";
import { decide } from "../../src/policy/decide.js";
import { loadPolicy } from "../../src/policy/load.js";
import { decideCase, input } from "../helpers/policy.js";

const NAMES = ["constructor", "toString", "__proto__", "hasOwnProperty"];

describe("names: classes", () => {
  it.each(NAMES)("applies a rule to a class named %s", (name) => {
    const policy = `version: 1\nclasses:\n  ${name}: ["secret/**"]\nrules:\n  - id: r\n    match: { classes: [${name}] }\n    action: deny\ndefault: allow\nowners: { users: [o] }\n`;
    expect(decideCase({ policy, files: ["secret/a"] }).outcome).toBe("denied");
    expect(decideCase({ policy, files: ["public/a"] }).outcome).toBe("allowed");
  });

  it.each(NAMES)("reports an undefined class named %s as unknown", (name) => {
    const result = loadPolicy(`version: 1\nrules:\n  - id: r\n    match: { classes: [${name}] }\n    action: deny\nowners: { users: [o] }\n`, "p.yml");
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors[0]).toMatchObject({
      field: "rules[0].match.classes[0]",
      message: `unknown class "${name}"; no classes are defined`,
      line: 4,
    });
  });

  it("checks the globs of a class named __proto__ like any other", () => {
    const result = loadPolicy("version: 1\nclasses:\n  __proto__: [5]\nowners: { users: [o] }\n", "p.yml");
    expect(!result.ok && result.errors[0]).toMatchObject({ field: "classes.__proto__[0]", message: "expected string, got number 5" });
  });
});

describe("names: agents and rules", () => {
  const POLICY = `version: 1
agents: { presets: [], custom: [{ name: constructor, logins: [ctor-bot] }] }
rules:
  - id: constructor
    match: { paths: ["src/**"], agents: [constructor] }
    action: deny
default: allow
owners: { users: [o] }
limits: { max_prs_per_day: 3 }
`;
  const ctor = { author: { login: "ctor-bot", type: "Bot" }, head_branch: "x" };

  it("recognises an agent named constructor and applies the rules naming it", () => {
    const d = decideCase({ policy: POLICY, files: ["src/a.ts"], change: ctor });
    expect(d.agent?.name).toBe("constructor");
    expect(d.rules.map((r) => r.id)).toEqual(["repo:constructor"]);
  });

  it("counts an agent named constructor against its budget with prs_today when prs_by_agent has no entry", () => {
    const i = input({ policy: POLICY, files: ["docs/a.md"], change: ctor, prsToday: 4 });
    expect(decide(i).limits[0]).toMatchObject({ actual: 4, exceeded: true });
  });

  it("reports a duplicate rule id constructor", () => {
    const result = loadPolicy(`${POLICY}`.replace("rules:\n", "rules:\n  - { id: constructor, match: { paths: [a] }, action: allow }\n"), "p.yml");
    expect(!result.ok && result.errors[0]?.message).toBe('duplicate rule id "constructor" (first used by rules[0])');
  });
});
