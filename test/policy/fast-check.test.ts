import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import * as z from "zod/mini";
import { safeParseInput } from "../../src/policy/parse-input.js";
import { canonicalJson } from "../../src/policy/canonical.js";
import { compileFastCheck, UnsupportedSchemaError } from "../../src/policy/fast-check.js";
import { EvaluationInputSchema } from "../../src/policy/input.js";
import { approval, fixturePolicy, input } from "../helpers/policy.js";

const dir = new URL("../../fixtures/golden/", import.meta.url);
/** Inputs as the audit store keeps them: parsed by the schema (defaults filled in), then written as JSON. */
const stored: unknown[] = [
  ...readdirSync(fileURLToPath(dir))
    .filter((f) => f.endsWith(".json"))
    .map((f) => (JSON.parse(readFileSync(new URL(f, dir), "utf8")) as { input: unknown }).input),
  input({
    policy: fixturePolicy("webapp-monorepo.yml"),
    org: fixturePolicy("webapp-monorepo.yml"),
    files: ["docs/a.md", { path: "src/b.ts", previous_path: "src/a.ts", status: "renamed", additions: 3, deletions: 0 }],
    change: {
      labels: ["ai"],
      reviews: [approval("alice")],
      team_members: { "acme/dba": ["alice"] },
      agent_override: "codex",
      total_files: 2,
      created_at: "2026-11-24T11:00:00Z",
    },
  }),
].map((i) => JSON.parse(JSON.stringify(EvaluationInputSchema.parse(i))) as unknown);

const check = compileFastCheck(EvaluationInputSchema);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every way of spoiling one place of `value`: a member removed or replaced by a value of another type; an unknown or `__proto__` key added. */
function mutations(value: Json): Json[] {
  const replacements: Json[] = [null, "", "x", -1, 1.5, 0, true, [], {}, [1], { x: 1 }];
  const out: Json[] = [];
  /** A copy of `value` with `change` applied to the node at `path`'s parent (or to the node itself, for an empty key). */
  const edit = (path: Array<string | number>, change: (node: Record<string | number, Json>, key: string | number) => void) => {
    const root = JSON.parse(JSON.stringify(value)) as Record<string | number, Json>;
    let node = root;
    for (const p of path.slice(0, -1)) node = node[p] as Record<string | number, Json>;
    change(node, path[path.length - 1]!);
    return root as Json;
  };
  const walk = (path: Array<string | number>, node: Json) => {
    if (path.length > 0) {
      for (const r of replacements) out.push(edit(path, (parent, key) => (parent[key] = r)));
      if (typeof path[path.length - 1] === "string") out.push(edit(path, (parent, key) => delete parent[key]));
    }
    if (node === null || typeof node !== "object") return;
    if (Array.isArray(node)) return node.forEach((child, i) => walk([...path, i], child));
    for (const [key, child] of Object.entries(node)) walk([...path, key], child);
    const inside = (add: (target: Record<string, Json>) => void) => out.push(edit([...path, ""], (parent) => add(parent)));
    inside((target) => (target["unexpected"] = 1));
    // A __proto__ member as JSON.parse makes it (an own, enumerable key) like a sibling: zod leaves it out of a record's copy.
    const sibling = Object.values(node)[0] ?? {};
    inside((target) => Object.defineProperty(target, "__proto__", { value: sibling, enumerable: true, configurable: true, writable: true }));
  };
  walk([], value);
  return out;
}

describe("fast check of stored evaluation inputs", () => {
  it("accepts every stored input as it is, the same value the schema gives back", () => {
    for (const value of stored) {
      expect(check(value)).toBe(true);
      const parsed = EvaluationInputSchema.parse(value);
      expect(canonicalJson(parsed)).toBe(canonicalJson(value));
      expect(parsed).toEqual(value);
    }
  });

  it("accepts no spoiled input that the schema refuses or would change", () => {
    let refused = 0;
    let accepted = 0;
    for (const value of stored) {
      for (const spoiled of mutations(value as Json)) {
        const zod = EvaluationInputSchema.safeParse(spoiled);
        if (!check(spoiled)) {
          refused++;
          continue;
        }
        accepted++;
        // What it accepts, the schema accepts, and gives back unchanged.
        expect(zod.success, JSON.stringify(spoiled).slice(0, 300)).toBe(true);
        expect(canonicalJson(zod.data)).toBe(canonicalJson(spoiled));
      }
    }
    // Both sides are exercised: optional members removed are fine as they are; wrong types and unknown keys are not.
    expect(accepted).toBeGreaterThan(10);
    expect(refused).toBeGreaterThan(1000);
  });

  it("leaves an input that lacks a defaulted field (an older row) to the schema, which fills the default in", () => {
    const old = JSON.parse(JSON.stringify(stored[stored.length - 1])) as { change: Record<string, unknown> };
    delete old.change["labels"];
    delete old.change["known_agents"];
    expect(check(old)).toBe(false);
    const parsed = safeParseInput(old);
    expect(parsed.success).toBe(true);
    expect(parsed.data?.change.labels).toEqual([]);
    expect(parsed.data?.change.known_agents).toEqual([]);
  });

  it("reports the schema's own error for an input that no longer parses", () => {
    const bad = JSON.parse(JSON.stringify(stored[0])) as { change: { files: Array<Record<string, unknown>> } };
    bad.change.files[0]!["additions"] = -1;
    const parsed = safeParseInput(bad);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(["change", "files", 0, "additions"]);
  });

  it("accepts a value of a plain (stripping) object only without unknown keys, which zod would drop", () => {
    const schema = z.object({ a: z.string(), b: z.optional(z.number()) });
    const plain = compileFastCheck(schema);
    expect([plain({ a: "x" }), plain({ a: "x", b: 1 }), plain({ a: "x", c: 1 }), plain({ a: 1 })]).toEqual([true, true, false, false]);
    expect(schema.parse({ a: "x", c: 1 })).toEqual({ a: "x" });
  });

  it("refuses to compile a schema it cannot follow exactly, rather than guess", () => {
    expect(() => compileFastCheck(z.looseObject({ a: z.string() }))).toThrow(UnsupportedSchemaError);
    expect(() => compileFastCheck(z.strictObject({ a: z.string().check(z.regex(/^a/)) }))).toThrow(UnsupportedSchemaError);
    expect(() => compileFastCheck(z.strictObject({ a: z.union([z.string(), z.number()]) }))).toThrow(UnsupportedSchemaError);
    expect(() =>
      compileFastCheck(
        z.strictObject({
          a: z.pipe(
            z.string(),
            z.transform((s) => s.length),
          ),
        }),
      ),
    ).toThrow(UnsupportedSchemaError);
  });
});
