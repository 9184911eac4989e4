// Whom to ask about a blocked rule: the policy author's `escalate` words, else a code the renderers phrase; never
// English made by the evaluator inside the hashed record.
import { describe, expect, it } from "vitest";
import { Replayer } from "../../src/audit/replay.js";
import { openAuditStore } from "../../src/audit/store.js";
import { renderDecision } from "../../src/cli/render-decision.js";
import { DecisionSchema, EVALUATOR_VERSION } from "../../src/policy/decision.js";
import { escalationText } from "../../src/report/phrases.js";
import { entryFor } from "../helpers/audit.js";
import { decideCase } from "../helpers/policy.js";

const NO_OWNERS = 'version: 1\nrules:\n  - id: freeze\n    match: { paths: ["src/**"] }\n    action: deny\ndefault: allow\n';
const OWNERS = `${NO_OWNERS}owners: { teams: [acme/platform], users: [olga] }\n`;

describe("escalation", () => {
  it("records the default escalation as a code with the owners as a parameter, and renders it", () => {
    const d = decideCase({ policy: OWNERS, files: ["src/a.ts"] });
    const rule = d.rules.find((r) => r.id === "repo:freeze")!;
    expect(rule.escalate).toBeUndefined();
    expect(rule.escalation).toEqual({ code: "policy_owners", params: { owners: "@acme/platform, @olga" } });
    expect(JSON.stringify(d)).not.toContain("Ask the");
    expect(escalationText(rule)).toBe("Ask the policy owners: @acme/platform, @olga");
  });

  it("says to ask the repository administrators when the policy names no owners", () => {
    const rule = decideCase({ policy: NO_OWNERS, files: ["src/a.ts"] }).rules.find((r) => r.id === "repo:freeze")!;
    expect(rule.escalation).toEqual({ code: "repo_admins", params: {} });
    expect(escalationText(rule)).toBe("Ask the repository administrators (the policy names no owners)");
  });

  it("keeps the author's escalate words as they are, with no code beside them", () => {
    const rule = decideCase({ policy: OWNERS.replace("action: deny\n", 'action: deny\n    escalate: "Ask #billing"\n'), files: ["src/a.ts"] }).rules[0]!;
    expect(rule).toMatchObject({ escalate: "Ask #billing" });
    expect(rule.escalation).toBeUndefined();
  });

  it("shows an older row's stored English escalation, and replays it as recorded by an older evaluator", () => {
    const now = entryFor({ pr: 1, policy: OWNERS, files: ["src/a.ts"] });
    const rules = now.decision.rules.map(({ escalation, ...r }) => (escalation ? { ...r, escalate: "Ask the policy owners: @acme/platform, @olga" } : r));
    const old = { ...now, decision: { ...now.decision, evaluator_version: "1.4.0", rules } };
    const store = openAuditStore(":memory:");
    try {
      store.recordBatch([old]);
      const row = store.get(1)!;
      const replay = new Replayer().replay(row);
      expect(replay).toMatchObject({ status: "older_evaluator", recorded: "1.4.0", now: { evaluator_version: EVALUATOR_VERSION } });
      expect(renderDecision(DecisionSchema.parse(JSON.parse(row.decision)))).toContain("escalate: Ask the policy owners: @acme/platform, @olga");
    } finally {
      store.close();
    }
  });
});
