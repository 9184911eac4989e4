// Golden fixtures: stored inputs and the decisions they gave. A change to what the evaluator decides must bump
// EVALUATOR_VERSION (replay reports rows of older versions as such); this test catches a change that does not.
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../src/policy/canonical.js";
import { decide } from "../../src/policy/decide.js";
import { DecisionSchema, EVALUATOR_VERSION } from "../../src/policy/decision.js";
import { EvaluationInputSchema } from "../../src/policy/input.js";

const dir = new URL("../../fixtures/golden/", import.meta.url);
const fixtures = readdirSync(fileURLToPath(dir))
  .filter((f) => f.endsWith(".json"))
  .sort()
  .map((f) => JSON.parse(readFileSync(new URL(f, dir), "utf8")) as { name: string; evaluator_version: string; input: unknown; decision: unknown });

/** The verdict on one fixture: null when it still decides the same bytes. */
function goldenProblem(
  f: { name: string; evaluator_version: string; input: unknown; decision: unknown },
  now = decide(EvaluationInputSchema.parse(f.input)),
): string | null {
  if (canonicalJson(now) === canonicalJson(f.decision)) return null;
  if (f.evaluator_version !== EVALUATOR_VERSION)
    return `${f.name}: EVALUATOR_VERSION was bumped (${f.evaluator_version} -> ${EVALUATOR_VERSION}); regenerate the golden decisions with \`npx tsx scripts/golden.ts\` and review the diff`;
  return `${f.name}: the decision changed without bumping EVALUATOR_VERSION (${EVALUATOR_VERSION}) in src/policy/decision.ts; bump it, then run \`npx tsx scripts/golden.ts\``;
}

describe("golden fixtures", () => {
  it("cover every outcome, gates, limits, observe mode, overrides and budgets", () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(12);
    const outcomes = new Set(fixtures.map((f) => DecisionSchema.parse(f.decision).outcome));
    expect([...outcomes].sort()).toEqual(["allowed", "denied", "error", "needs_approval", "not_governed"]);
    const decisions = fixtures.map((f) => DecisionSchema.parse(f.decision));
    expect(decisions.some((d) => d.observed)).toBe(true);
    expect(decisions.some((d) => d.override)).toBe(true);
    expect(decisions.some((d) => d.rules.some((r) => r.gate?.met))).toBe(true);
    expect(decisions.some((d) => d.limits.some((l) => l.scope === "org" && l.exceeded))).toBe(true);
  });

  for (const f of fixtures) {
    it(`${f.name} decides the same bytes as recorded`, () => {
      expect(goldenProblem(f)).toBeNull();
    });
  }

  it("fails a changed decision under the same evaluator version, and asks to regenerate after a bump", () => {
    const f = fixtures.find((x) => x.name === "denied-by-rule")!;
    const now = decide(EvaluationInputSchema.parse(f.input));
    const changed = { ...now, outcome: "allowed" as const };
    expect(goldenProblem(f, changed)).toContain("changed without bumping EVALUATOR_VERSION");
    expect(goldenProblem({ ...f, evaluator_version: "0.0.1" }, changed)).toContain("npx tsx scripts/golden.ts");
  });
});

describe("decision v2 holds no evaluator prose", () => {
  it("has no title or summary, and its default and policy-file rules give codes and params, not sentences", () => {
    const d = DecisionSchema.parse(fixtures.find((x) => x.name === "denied-by-default")!.decision);
    expect(d).not.toHaveProperty("title");
    expect(d).not.toHaveProperty("summary");
    expect(d.rules.find((r) => r.id === "repo.default")).toMatchObject({ code: "default", params: { action: "deny", source: null } });
    expect(d.rules.find((r) => r.id === "repo.default")).not.toHaveProperty("reason");
    const policyEdit = DecisionSchema.parse(fixtures.find((x) => x.name === "policy-file-change")!.decision);
    expect(policyEdit.rules.find((r) => r.id === "builtin:policy-change")).toMatchObject({ code: "policy_file_changed", params: {} });
    const notGoverned = DecisionSchema.parse(fixtures.find((x) => x.name === "not-governed-no-agent")!.decision);
    expect(notGoverned.cause).toEqual({ code: "no_agent_matched", params: { author: "dana" } });
  });
});
