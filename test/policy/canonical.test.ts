import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../src/policy/canonical.js";
import { decide } from "../../src/policy/decide.js";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { EvaluationInputSchema } from "../../src/policy/input.js";
import { fixturePolicy, input } from "../helpers/policy.js";

/** The definition: JSON.stringify of a copy with every object's keys sorted. */
function reference(value: unknown): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v !== null && typeof v === "object"
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
          )
        : v;
  return JSON.stringify(sort(value));
}

describe("canonical JSON", () => {
  it("sorts keys at every depth and leaves no whitespace", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: "x" } })).toBe('{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it("drops undefined members and writes undefined array items as null, as JSON.stringify does", () => {
    expect(canonicalJson({ a: undefined, b: [undefined, 1] })).toBe('{"b":[null,1]}');
  });

  it("matches the definition on the values JSON.stringify treats specially", () => {
    const fn = () => 1;
    const sparse: unknown[] = [1];
    sparse[3] = 2;
    const odd = {
      "10": "index",
      "9": "index",
      b: 1,
      "01": "not an index",
      "4294967295": "not an index",
      "-1": "not an index",
      a: [fn, Symbol("s"), undefined, NaN, -0, Infinity, 1e21, 5e-7],
      f: fn,
      s: Symbol("t"),
      d: new Date(0),
      n: null,
      t: true,
      e: {},
      z: [],
      sparse,
      nested: { "2": [{ y: 1, x: 2 }], "1": null },
    };
    expect(canonicalJson(odd)).toBe(reference(odd));
    for (const v of [null, 0, -0, "x", true, [], {}, [undefined], NaN, new Date(0)]) expect(canonicalJson(v)).toBe(reference(v));
  });

  it("escapes strings and keys as JSON.stringify does", () => {
    const odd = { 'k"ey\n': "line\nbreak \u0000 \u2028 é \ud83d\ude00" };
    expect(canonicalJson(odd)).toBe(reference(odd));
  });

  it("gives the same bytes as the sort-then-stringify definition for real decisions and their inputs", () => {
    const i = input({ policy: fixturePolicy("webapp-monorepo.yml"), files: ["docs/a.md", "db/migrations/1.sql", "apps/api/src/billing/x.ts"] });
    const d = decide(i);
    expect(canonicalJson(i)).toBe(reference(i));
    expect(canonicalJson(d)).toBe(reference(d));
  });

  it("matches the definition for objects with the same keys in different orders, and for more shapes than it remembers", () => {
    const same = [
      { b: 1, a: 2, c: { y: 1, x: 2 } },
      { a: 2, c: { x: 2, y: 1 }, b: 1 },
      { c: { y: 1, x: 2 }, b: 1, a: 2 },
    ];
    for (const v of same) expect(canonicalJson(v)).toBe('{"a":2,"b":1,"c":{"x":2,"y":1}}');
    // Keys that would collide if shapes were joined with a separator, then 20,000 distinct shapes (past the remembered 8,192).
    const joined = [
      { "a\u0000b": 1, c: 2 },
      { a: 1, "b\u0000c": 2 },
      { "2": 1, "10": 2, b: 3, a: 4 },
    ];
    for (const v of joined) expect(canonicalJson(v)).toBe(reference(v));
    const many = Array.from({ length: 20_000 }, (_, i) => ({ [`k${i}`]: i, [`j${(i * 7919) % 20_000}`]: [{ z: i, [`m${i % 97}`]: 1 }], a: null }));
    expect(many.map((v) => canonicalJson(v))).toEqual(many.map(reference));
    for (const v of same) expect(canonicalJson(v)).toBe('{"a":2,"b":1,"c":{"x":2,"y":1}}');
  });

  it("writes values whose keys are already sorted exactly as the definition, including what JSON.stringify would treat differently", () => {
    const withToJson = { a: 1, toJSON: () => "replaced" };
    const nullProto = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1, b: { c: 2 } });
    const sorted = [
      { a: 1, b: [1, { c: 2, d: null }], e: "x" },
      { "1": 0, "2": 0, a: 1, b: 2 },
      { "2": 0, "10": 0, a: 1 },
      { "5": 1, "!": 2, "4294967295": 3 },
      { a: { d: new Date(0) }, b: 1 },
      { a: new Map([["k", 1]]), b: Object("boxed") as unknown, c: new Uint8Array(2) },
      nullProto,
      { a: { b: { z: 1, y: 2 } } },
      [{ b: 1, a: 2 }],
    ];
    for (const v of sorted) expect(canonicalJson(v)).toBe(reference(v));
    // An own toJSON is a member like any other (a function, so left out), never called, sorted keys or not.
    expect(canonicalJson({ a: [withToJson], b: withToJson })).toBe('{"a":[{"a":1}],"b":{"a":1}}');
  });

  it("builds every golden decision in canonical key order, so writing it needs no sorting", () => {
    const dir = new URL("../../fixtures/golden/", import.meta.url);
    const files = readdirSync(fileURLToPath(dir)).filter((f) => f.endsWith(".json"));
    expect(files.length).toBeGreaterThanOrEqual(12);
    for (const f of files) {
      const { input: stored } = JSON.parse(readFileSync(new URL(f, dir), "utf8")) as { input: unknown };
      const decision = decide(EvaluationInputSchema.parse(stored));
      expect(JSON.stringify(decision), f).toBe(reference(decision));
    }
  });
});
