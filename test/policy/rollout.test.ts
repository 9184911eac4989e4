// Observe mode and break-glass overrides in the pure core: what decides, what is only recorded.
import { describe, expect, it } from "vitest";
import { policyJsonSchema } from "../../src/policy/schema.js";
import { decideCase, HEAD } from "../helpers/policy.js";
import { decisionTitle, decisionSummary } from "../../src/report/phrases.js";

const OWNED = "owners: { users: [olga] }\n";
const FREEZE = `version: 1
mode: observe
rules:
  - id: billing-freeze
    match: { paths: ["src/billing/**"] }
    action: deny
default: allow
${OWNED}`;

describe("observe mode", () => {
  it("records what an observe-mode file would deny, but allows the PR", () => {
    const d = decideCase({ policy: FREEZE, files: ["src/billing/a.ts"] });
    expect(d.outcome).toBe("allowed");
    expect(d.observed).toEqual({ outcome: "denied", rules: ["repo:billing-freeze"] });
    expect(decisionTitle(d)).toContain("Observe: would deny (repo:billing-freeze)");
    expect(d.rules.find((r) => r.id === "repo:billing-freeze")?.mode).toBe("observe");
  });

  it("enforces the other rules beside one rule in observe mode", () => {
    const policy = `version: 1
rules:
  - id: trial
    mode: observe
    match: { paths: ["docs/**"] }
    action: deny
  - id: secrets
    match: { paths: ["secrets/**"] }
    action: deny
default: allow
${OWNED}`;
    expect(decideCase({ policy, files: ["docs/a.md"] })).toMatchObject({ outcome: "allowed", observed: { outcome: "denied", rules: ["repo:trial"] } });
    expect(decideCase({ policy, files: ["docs/a.md", "secrets/k"] })).toMatchObject({ outcome: "denied" });
    expect(decisionTitle(decideCase({ policy, files: ["docs/a.md", "secrets/k"] }))).toBe("Denied: repo:secrets");
  });

  it("keeps an enforced default where only an observe-mode rule covers the file", () => {
    const policy = `version: 1\nrules:\n  - id: trial\n    mode: observe\n    match: { paths: ["docs/**"] }\n    action: deny\ndefault: require_approval\n${OWNED}`;
    const d = decideCase({ policy, files: ["docs/a.md"] });
    expect(d.outcome).toBe("needs_approval");
    expect(d.observed?.outcome).toBe("denied");
  });

  it("cannot turn an org rule into observe mode from the repo", () => {
    const org = `version: 1\nrules:\n  - id: freeze\n    match: { paths: ["src/**"] }\n    action: deny\ndefault: allow\n${OWNED}`;
    const d = decideCase({ org, policy: `version: 1\nmode: observe\ndefault: allow\n${OWNED}`, files: ["src/a.ts"] });
    expect(d.outcome).toBe("denied");
    expect(d.observed).toBeUndefined();
  });

  it("enforces a repo's rules when the org observes", () => {
    const org = `version: 1\nmode: observe\nrules:\n  - id: org-freeze\n    match: { paths: ["src/**"] }\n    action: deny\ndefault: allow\n${OWNED}`;
    const repo = `version: 1\nrules:\n  - id: repo-freeze\n    match: { paths: ["lib/**"] }\n    action: deny\ndefault: allow\n${OWNED}`;
    expect(decideCase({ org, policy: repo, files: ["src/a.ts"] })).toMatchObject({ outcome: "allowed", observed: { rules: ["org:org-freeze"] } });
    expect(decideCase({ org, policy: repo, files: ["lib/a.ts"] }).outcome).toBe("denied");
  });

  it("puts limits of an observe-mode file in observe mode", () => {
    const d = decideCase({ policy: `version: 1\nmode: observe\nlimits: { max_files: 1 }\ndefault: allow\n${OWNED}`, files: ["a", "b"] });
    expect(d).toMatchObject({ outcome: "allowed", observed: { outcome: "denied", rules: ["limits.max_files"] } });
  });

  it("is in the JSON Schema that governor schema prints", () => {
    const schema = JSON.stringify(policyJsonSchema());
    expect(schema).toContain('"observe"');
    expect(schema).toContain('"overrides"');
  });
});

describe("break-glass overrides", () => {
  const DENY = `version: 1\nrules:\n  - id: billing\n    match: { paths: ["src/billing/**"] }\n    action: deny\ndefault: allow\noverrides: { users: [oncall] }\n${OWNED}`;
  const override = (o: Partial<{ by: string; head_sha: string; source: "org" | "repo" }> = {}) => ({
    by: "oncall",
    reason: "hotfix for the outage",
    at: "2026-11-24T12:00:00.000Z",
    head_sha: HEAD,
    source: "repo" as const,
    ...o,
  });

  it("allows a denied PR for the head commit it was given for, and says by whom", () => {
    const d = decideCase({ policy: DENY, files: ["src/billing/a.ts"], change: { overrides: [override()] } });
    expect(decisionTitle(d)).toBe("Overridden by @oncall");
    expect(d).toMatchObject({ outcome: "allowed", override: { by: ["oncall"], reason: "hotfix for the outage", rules: ["repo:billing"] } });
    expect(decisionSummary(d)).toContain("hotfix for the outage");
  });

  it("does not survive a new head commit", () => {
    const d = decideCase({ policy: DENY, files: ["src/billing/a.ts"], change: { overrides: [override({ head_sha: "f".repeat(40) })] } });
    expect(d.outcome).toBe("denied");
    expect(d.override).toBeUndefined();
  });

  it("lifts only the rules of the file whose list named the person", () => {
    const org = `version: 1\nrules:\n  - id: org-freeze\n    match: { paths: ["src/**"] }\n    action: deny\ndefault: allow\n${OWNED}`;
    const d = decideCase({ org, policy: DENY, files: ["src/billing/a.ts"], change: { overrides: [override()] } });
    expect(d.outcome).toBe("denied");
    expect(d.rules.find((r) => r.id === "org:org-freeze")?.overridden_by).toBeUndefined();
    expect(
      decideCase({ org, policy: DENY, files: ["src/billing/a.ts"], change: { overrides: [override(), override({ by: "cto", source: "org" })] } }).outcome,
    ).toBe("allowed");
  });
});
