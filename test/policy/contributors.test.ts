// Approvals come from reviewers: people who authored, committed or pushed to the PR do not approve it.
import { describe, expect, it } from "vitest";
import { approval, decideCase } from "../helpers/policy.js";

const policy = (approvers: string) => `version: 1
rules:
  - id: api
    match: { paths: ["api/**"] }
    action: require_approval
    approvers: ${approvers}
default: require_approval
default_approvers: { users: [dana, erin] }
owners: { users: [olga] }
`;
const STRICT = policy("{ users: [alice, bob] }");
const gateOf = (d: ReturnType<typeof decideCase>, id: string) => d.rules.find((r) => r.id === id)?.gate;

describe("approvals: contributors", () => {
  it("ignores the approval of someone who pushed to the PR, saying why", () => {
    const d = decideCase({ policy: STRICT, files: ["api/x.ts"], change: { contributors: ["Alice"], reviews: [approval("alice")] } });
    expect(gateOf(d, "repo:api")).toMatchObject({ met: false, approved_by: [], ignored: [{ login: "alice", code: "contributor" }] });
  });

  it("counts a reviewer who did not contribute", () => {
    const d = decideCase({ policy: STRICT, files: ["api/x.ts"], change: { contributors: ["alice"], reviews: [approval("bob")] } });
    expect(d.outcome).toBe("allowed");
  });

  it("counts a contributor's approval when the gate says allow_contributors", () => {
    const d = decideCase({
      policy: policy("{ users: [alice, bob], allow_contributors: true }"),
      files: ["api/x.ts"],
      change: { contributors: ["alice"], reviews: [approval("alice")] },
    });
    expect(gateOf(d, "repo:api")?.approved_by).toEqual(["alice"]);
  });

  it("lets a contributor's request for changes hold the gate", () => {
    const d = decideCase({
      policy: STRICT,
      files: ["api/x.ts"],
      change: { contributors: ["alice"], reviews: [approval("alice", { state: "CHANGES_REQUESTED" }), approval("bob")] },
    });
    expect(gateOf(d, "repo:api")).toMatchObject({ met: false, approved_by: ["bob"], changes_requested_by: ["alice"] });
  });

  it("applies to the default gate, whose default_approvers may opt in", () => {
    const files = ["src/x.ts"];
    const change = { contributors: ["dana"], reviews: [approval("dana")] };
    expect(gateOf(decideCase({ policy: STRICT, files, change }), "repo.default")?.met).toBe(false);
    const optIn = STRICT.replace("{ users: [dana, erin] }", "{ users: [dana, erin], allow_contributors: true }");
    expect(gateOf(decideCase({ policy: optIn, files, change }), "repo.default")?.met).toBe(true);
  });

  it("applies to the owners' policy-change gate", () => {
    const d = decideCase({ policy: STRICT, files: [".governance.yml"], change: { contributors: ["olga"], reviews: [approval("olga")] } });
    expect(gateOf(d, "builtin:policy-change")?.ignored).toEqual([{ login: "olga", code: "contributor" }]);
  });
});
