// An org policy can only be tightened: each merged field, driven through decide() and compileInput().
import { describe, expect, it } from "vitest";
import { compileInput, decide } from "../../src/policy/decide.js";
import { approval, decideCase, input } from "../helpers/policy.js";

const ORG_AGENT = `version: 1
agents:
  presets: all
  custom:
    - name: acme-bot
      logins: ["acme-agent[bot]"]
      labels: ["ai-generated"]
default: allow
owners: { users: [org-owner] }
`;

const REPO_OWNED = "version: 1\ndefault: allow\nowners: { users: [repo-owner] }\n";
const human = { author: { login: "acme-agent[bot]", type: "Bot" }, head_branch: "feature/x" };
const ids = (d: ReturnType<typeof decideCase>) => d.rules.map((r) => r.id);

describe("org and repo: custom agents", () => {
  it("keeps an org agent recognised by every signal the org gave it when the repo redefines it", () => {
    const repo = `version: 1\nagents: { custom: [{ name: acme-bot, branches: ["bot/**"] }] }\ndefault: allow\nowners: { users: [a] }\n`;
    const byLogin = decideCase({ org: ORG_AGENT, policy: repo, change: human });
    expect(byLogin.agent?.name).toBe("acme-bot");
    expect(byLogin.agent?.signals[0]).toEqual({ kind: "login", value: "acme-agent[bot]", matched: "acme-bot" });
  });

  it("adds the repo's signals to an org agent of the same name", () => {
    const repo = `version: 1\nagents: { custom: [{ name: acme-bot, branches: ["bot/**"] }] }\ndefault: allow\nowners: { users: [a] }\n`;
    const d = decideCase({ org: ORG_AGENT, policy: repo, change: { author: { login: "someone", type: "User" }, head_branch: "bot/fix" } });
    expect(d.agent?.name).toBe("acme-bot");
  });

  it("lets a repo rule name an agent only the org defines", () => {
    const repo =
      'version: 1\nrules:\n  - id: no-bot-docs\n    match: { paths: ["docs/**"], agents: [acme-bot] }\n    action: deny\ndefault: allow\nowners: { users: [a] }\n';
    const d = decideCase({ org: ORG_AGENT, policy: repo, files: ["docs/a.md"], change: human });
    expect(d.outcome).toBe("denied");
    expect(ids(d)).toEqual(["repo:no-bot-docs"]);
  });
});

describe("org and repo: a repo agent cannot shadow an org's", () => {
  it("keeps the org's rules for copilot when a repo custom agent claims Copilot's login", () => {
    const org =
      'version: 1\nrules:\n  - id: no-copilot-infra\n    match: { paths: ["infra/**"], agents: [copilot] }\n    action: deny\ndefault: allow\nowners: { users: [o] }\n';
    const repo = "version: 1\nagents: { custom: [{ name: helper, logins: [Copilot] }] }\ndefault: allow\nowners: { users: [r] }\n";
    const d = decideCase({ org, policy: repo, files: ["infra/main.tf"] });
    expect(d.agent?.name).toBe("helper");
    expect(d.agents.map((a) => a.name)).toEqual(["helper", "copilot"]);
    expect(d.outcome).toBe("denied");
  });
});

describe("org and repo: who approves", () => {
  const ORG_GATE = `version: 1
rules:
  - id: workflows
    match: { paths: [".github/workflows/**"] }
    action: require_approval
default: allow
default_approvers: { users: [org-dev] }
owners: { users: [org-owner] }
`;
  const REPO_APPROVERS = "version: 1\ndefault: allow\ndefault_approvers: { users: [repo-dev] }\nowners: { users: [repo-owner] }\n";

  it("does not let the repo's default_approvers approve an org rule's gate", () => {
    const d = decideCase({ org: ORG_GATE, policy: REPO_APPROVERS, files: [".github/workflows/ci.yml"], change: { reviews: [approval("repo-dev")] } });
    const gate = d.rules.find((r) => r.id === "org:workflows")?.gate;
    expect(gate?.approvers.users).toEqual(["org-dev"]);
    expect(gate?.met).toBe(false);
    expect(gate?.ignored).toEqual([{ login: "repo-dev", code: "not_approver" }]);
  });

  it("meets an org rule's gate with the org's default_approvers", () => {
    const d = decideCase({ org: ORG_GATE, policy: REPO_APPROVERS, files: [".github/workflows/ci.yml"], change: { reviews: [approval("org-dev")] } });
    expect(d.outcome).toBe("allowed");
  });

  it("does not let the repo's owners approve an org rule that falls back to the org's owners", () => {
    const org = ORG_GATE.replace("default_approvers: { users: [org-dev] }\n", "");
    const d = decideCase({ org, policy: REPO_OWNED, files: [".github/workflows/ci.yml"], change: { reviews: [approval("repo-owner")] } });
    expect(d.outcome).toBe("needs_approval");
    expect(d.rules.find((r) => r.id === "org:workflows")?.gate?.approvers.users).toEqual(["org-owner"]);
  });

  it("lets a repo rule without approvers fall back to the org's default_approvers", () => {
    const repo = 'version: 1\nrules:\n  - id: api\n    match: { paths: ["api/**"] }\n    action: require_approval\ndefault: allow\n';
    const d = decideCase({ org: ORG_GATE, policy: repo, files: ["api/x.ts"], change: { reviews: [approval("org-dev")] } });
    expect(d.rules.find((r) => r.id === "repo:api")?.gate?.met).toBe(true);
  });

  it("approves an exceeded org limit only with the org's owners", () => {
    const org = "version: 1\ndefault: allow\nowners: { users: [org-owner] }\nlimits: { max_files: 2, action: require_approval }\n";
    const files = ["a.ts", "b.ts", "c.ts"];
    const byRepo = decideCase({ org, policy: REPO_OWNED, files, change: { reviews: [approval("repo-owner")] } });
    expect(byRepo.rules.find((r) => r.id === "limits.max_files")?.gate).toMatchObject({ approvers: { users: ["org-owner"] }, met: false });
    expect(decideCase({ org, policy: REPO_OWNED, files, change: { reviews: [approval("org-owner")] } }).outcome).toBe("allowed");
  });

  it("approves a limit only the repo sets with the repo's owners", () => {
    const repo = `${REPO_OWNED}limits: { max_files: 1, action: require_approval }\n`;
    const org = "version: 1\ndefault: allow\nowners: { users: [org-owner] }\nlimits: { max_files: 10, action: require_approval }\n";
    const d = decideCase({ org, policy: repo, files: ["a.ts", "b.ts"], change: { reviews: [approval("repo-owner")] } });
    expect(d.rules.find((r) => r.id === "limits.max_files")?.gate).toMatchObject({ approvers: { users: ["repo-owner"] }, met: true });
  });

  it("keeps the owners of both files for a change to the policy file", () => {
    const d = decideCase({ org: ORG_AGENT, policy: REPO_OWNED, files: [".governance.yml"], change: { reviews: [approval("repo-owner")] } });
    const gate = d.rules.find((r) => r.id === "builtin:policy-change")?.gate;
    expect(gate?.approvers.users).toEqual(["org-owner", "repo-owner"]);
    expect(gate?.met).toBe(true);
  });
});

describe("org and repo: defaults", () => {
  it("applies the org's default to files only the repo's rules cover: a repo allow does not lift an org deny default", () => {
    const org = 'version: 1\nrules:\n  - id: docs\n    match: { paths: ["docs/**"] }\n    action: allow\ndefault: deny\nowners: { users: [o] }\n';
    const repo = 'version: 1\nrules:\n  - id: everything\n    match: { paths: ["**"] }\n    action: allow\ndefault: allow\nowners: { users: [r] }\n';
    const d = decideCase({ org, policy: repo, files: ["src/app.ts", "docs/a.md"] });
    expect(d.outcome).toBe("denied");
    expect(d.rules.find((r) => r.id === "org.default")).toMatchObject({ action: "deny", files: ["src/app.ts"], policy_ref: { source: "org", line: 6 } });
  });

  it("applies the repo's require_approval default to files only org rules cover", () => {
    const org = 'version: 1\nrules:\n  - id: tests\n    match: { paths: ["test/**"] }\n    action: allow\ndefault: allow\nowners: { users: [o] }\n';
    const repo = "version: 1\ndefault: require_approval\ndefault_approvers: { users: [repo-dev] }\nowners: { users: [r] }\n";
    const d = decideCase({ org, policy: repo, files: ["test/a.test.ts"] });
    expect(d.outcome).toBe("needs_approval");
    expect(d.rules.find((r) => r.id === "repo.default")?.gate?.approvers.users).toEqual(["repo-dev"]);
  });

  it("opens a gate for each file's require_approval default, each approved by its own people", () => {
    const org = "version: 1\ndefault: require_approval\ndefault_approvers: { users: [org-dev] }\nowners: { users: [o] }\n";
    const repo = "version: 1\ndefault: require_approval\ndefault_approvers: { users: [repo-dev] }\nowners: { users: [r] }\n";
    const d = decideCase({ org, policy: repo, files: ["src/app.ts"], change: { reviews: [approval("repo-dev")] } });
    expect(d.rules.map((r) => [r.id, r.gate?.met])).toEqual([
      ["org.default", false],
      ["repo.default", true],
    ]);
    expect(d.outcome).toBe("needs_approval");
  });

  it("accepts a repo policy that only adds rules, its require_approval default approved by the org's people", () => {
    const org = "version: 1\ndefault: allow\ndefault_approvers: { users: [org-dev] }\nowners: { users: [o] }\n";
    const repo = 'version: 1\nrules:\n  - id: api\n    match: { paths: ["api/**"] }\n    action: require_approval\n';
    const d = decideCase({ org, policy: repo, files: ["api/x.ts", "src/y.ts"] });
    expect(d.outcome).toBe("needs_approval");
    expect(d.rules.map((r) => [r.id, r.gate?.approvers.users])).toEqual([
      ["repo:api", ["org-dev"]],
      ["repo.default", ["org-dev"]],
    ]);
  });

  it("still refuses that repo policy when no file names anyone to approve", () => {
    const org = "version: 1\ndefault: allow\n";
    const repo = 'version: 1\nrules:\n  - id: api\n    match: { paths: ["api/**"] }\n    action: require_approval\n';
    const d = decideCase({ org, policy: repo, files: ["api/x.ts"] });
    expect(d.outcome).toBe("error");
    expect(d.errors.map((e) => e.message)).toContain(
      'rule "api" requires approval but names no approvers, and there are no default_approvers or owners here or in the org policy',
    );
  });
});

describe("org and repo: a repo can only tighten each switch", () => {
  const ORG = `version: 1
agents: { presets: [copilot] }
scope: all
default: allow
owners: { users: [o] }
approvals: { invalidate_on_push: true }
limits: { max_files: 2, action: require_approval }
`;
  const LAX = `version: 1
agents: { presets: [] , custom: [{ name: other, logins: [other-bot] }] }
scope: agents
default: allow
owners: { users: [r] }
approvals: { invalidate_on_push: false }
limits: { max_files: 100, action: require_approval }
`;

  it("keeps the org's agent presets when the repo lists none", () => {
    expect(decideCase({ org: ORG, policy: LAX }).agent?.name).toBe("copilot");
  });

  it("keeps scope: all when the repo says agents", () => {
    const d = decideCase({ org: ORG, policy: LAX, change: { author: { login: "octocat", type: "User" }, head_branch: "feature" } });
    expect(d.outcome).not.toBe("not_governed");
  });

  it("keeps invalidate_on_push when the repo turns it off", () => {
    const d = decideCase({ org: ORG, policy: LAX, files: [".governance.yml"], change: { reviews: [approval("o", { commit_id: "0".repeat(40) })] } });
    expect(d.rules.find((r) => r.id === "builtin:policy-change")?.gate?.ignored[0]?.code).toBe("stale");
  });

  it("keeps the smaller limit when the repo sets a larger one", () => {
    const d = decideCase({ org: ORG, policy: LAX, files: ["a", "b", "c"] });
    expect(d.limits).toEqual([{ id: "limits.max_files", scope: "repo", agent: null, limit: 2, used: 0, share: 3, actual: 3, exceeded: true }]);
  });

  it("takes the stricter limits.action: a repo deny tightens the org's require_approval", () => {
    const d = decideCase({ org: ORG, policy: LAX.replace("action: require_approval", "action: deny"), files: ["a", "b", "c"] });
    expect(d.rules.find((r) => r.id === "limits.max_files")?.action).toBe("deny");
  });

  it("keeps the org's outcome labels when the org writes them", () => {
    const org = `${ORG}labels: { allowed: "org: ok" }\n`;
    const compiled = compileInput(input({ org, policy: `${LAX}labels: { allowed: "repo: ok", denied: "repo: no" }\n` }).policies);
    expect(compiled.ok && compiled.policy.labels).toEqual({ allowed: "org: ok", needs_approval: "governance: needs approval", denied: "repo: no" });
  });

  it("decides the same whether the lax repo policy is there or not, for what the org governs", () => {
    const i = input({ org: ORG, policy: LAX, files: ["a", "b", "c"] });
    const orgOnly = input({ org: ORG, files: ["a", "b", "c"] });
    expect(decide(i).outcome).toBe(decide(orgOnly).outcome);
  });
});
