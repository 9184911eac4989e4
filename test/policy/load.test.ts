import { describe, expect, it } from "vitest";
import { loadPolicy, type PolicyProblem } from "../../src/policy/load.js";
import { fixturePolicy } from "../helpers/policy.js";

const BASE = `version: 1
classes:
  docs: ["docs/**"]
rules:
  - id: docs
    match: { classes: [docs] }
    action: allow
owners: { teams: [acme/platform] }
`;

function errorsOf(text: string): PolicyProblem[] {
  const result = loadPolicy(text, ".governance.yml");
  if (result.ok) throw new Error("expected the policy to be invalid");
  return result.errors;
}

function warningsOf(text: string): PolicyProblem[] {
  const result = loadPolicy(text, ".governance.yml");
  if (!result.ok) throw new Error(`expected a valid policy, got ${JSON.stringify(result.errors)}`);
  return result.loaded.warnings;
}

describe("loadPolicy: valid files", () => {
  it.each(["webapp-monorepo.yml", "payments-service.yml", "infra.yml", "org.yml"])("accepts the fixture %s", (name) => {
    const result = loadPolicy(fixturePolicy(name), name);
    expect(result.ok).toBe(true);
  });

  it("fills in defaults", () => {
    const result = loadPolicy("version: 1\nowners: { users: [a] }\n", "p.yml");
    if (!result.ok) throw new Error("invalid");
    expect(result.loaded.policy).toMatchObject({
      scope: "agents",
      default: "require_approval",
      agents: { presets: "all" },
      approvals: { invalidate_on_push: true },
    });
  });

  it("records the line of each rule", () => {
    const result = loadPolicy(BASE, "p.yml");
    if (!result.ok) throw new Error("invalid");
    expect(result.loaded.ruleLines).toEqual([5]);
  });

  it("accepts a UTF-8 byte order mark", () => {
    expect(loadPolicy(`\uFEFF${BASE}`, "p.yml").ok).toBe(true);
  });
});

describe("loadPolicy: each error class, with line and column", () => {
  it("reports YAML syntax errors where they are", () => {
    const [e] = errorsOf("version: 1\nrules: [\n  - id: x\n");
    expect(e).toMatchObject({ file: ".governance.yml", line: 3 });
    expect(e?.message).toMatch(/^YAML syntax: /);
  });

  it("reports an unknown key at the key, with a did-you-mean", () => {
    const [e] = errorsOf(BASE.replace("    action: allow", "    action: allow\n    reasn: typo"));
    expect(e).toMatchObject({ line: 8, column: 5, field: "rules[0].reasn" });
    expect(e?.message).toBe('unknown key "reasn"; did you mean "reason"?');
  });

  it("reports an unknown top-level key", () => {
    const [e] = errorsOf(`${BASE}limitz: {}\n`);
    expect(e).toMatchObject({ line: 9, column: 1, field: "limitz" });
    expect(e?.message).toContain('did you mean "limits"?');
  });

  it("reports a wrong type at the value", () => {
    const [e] = errorsOf(BASE.replace('docs: ["docs/**"]', "docs: 42"));
    expect(e).toMatchObject({ line: 3, column: 9, field: "classes.docs", message: "expected array, got number 42" });
  });

  it("reports a bad enum value with a suggestion", () => {
    const [e] = errorsOf(BASE.replace("action: allow", "action: alow"));
    expect(e).toMatchObject({ line: 7, column: 13, field: "rules[0].action" });
    expect(e?.message).toContain('did you mean "allow"?');
  });

  it("reports a missing required field at its parent", () => {
    const [e] = errorsOf(BASE.replace("    action: allow\n", ""));
    expect(e).toMatchObject({ field: "rules[0].action", line: 5 });
    expect(e?.message).toBe('missing required field "action"');
  });

  it("reports a wrong version", () => {
    const [e] = errorsOf(BASE.replace("version: 1", "version: 2"));
    expect(e).toMatchObject({ line: 1, column: 10, field: "version" });
  });

  it("reports an unknown class with a suggestion", () => {
    const [e] = errorsOf(BASE.replace("classes: [docs]", "classes: [doc]"));
    expect(e).toMatchObject({ line: 6, field: "rules[0].match.classes[0]" });
    expect(e?.message).toBe('unknown class "doc"; did you mean "docs"?');
  });

  it("reports a duplicate rule id at the second one", () => {
    const [e] = errorsOf(BASE.replace("owners:", '  - id: docs\n    match: { paths: ["x/**"] }\n    action: deny\nowners:'));
    expect(e).toMatchObject({ line: 8, field: "rules[1].id" });
    expect(e?.message).toBe('duplicate rule id "docs" (first used by rules[0])');
  });

  it("reports an invalid glob", () => {
    const [e] = errorsOf(BASE.replace('["docs/**"]', '["../secrets/**"]'));
    expect(e).toMatchObject({ line: 3, field: "classes.docs[0]" });
    expect(e?.message).toMatch(/^invalid glob "..\/secrets\/\*\*": /);
  });

  it("reports the glob that takes the policy past 10,000 brace expansions, at its line and column", () => {
    const glob = "src/{a,b,c,d,e,f,g,h,i,j}/{a,b,c,d,e,f,g,h,i,j}/{a,b,c,d,e,f,g,h,i,j}/*.ts";
    const globs = Array.from({ length: 11 }, (_, i) => `    - "${glob.replace("src", `s${i}`)}"`).join("\n");
    const errors = errorsOf(BASE.replace('  docs: ["docs/**"]', `  docs:\n${globs}`));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ line: 14, column: 8, field: "classes.docs[10]" });
    expect(errors[0]?.message).toBe(
      `glob "${glob.replace("src", "s10")}" brings the policy's brace expansions to 11000; the limit is 10,000 expansions per policy (and 1,000 per glob)`,
    );
  });

  it("accepts brace globs up to 10,000 expansions in total", () => {
    const glob = "src/{a,b,c,d,e,f,g,h,i,j}/{a,b,c,d,e,f,g,h,i,j}/{a,b,c,d,e,f,g,h,i,j}/*.ts";
    const globs = Array.from({ length: 9 }, (_, i) => `    - "${glob.replace("src", `s${i}`)}"`).join("\n");
    const result = loadPolicy(
      BASE.replace('  docs: ["docs/**"]', `  docs:\n${globs}\n    - "docs/{a,b,c,d,e,f,g,h,i,j}/{a,b,c,d,e,f,g,h,i,j}/{a,b,c,d,e,f,g,h,i,j}/*.md"`),
      ".governance.yml",
    );
    expect(result.ok).toBe(true);
  });

  it("reports a count that the approvers can never meet", () => {
    const [e] = errorsOf(BASE.replace("action: allow", "action: require_approval\n    approvers: { users: [a, b], count: 3 }"));
    expect(e).toMatchObject({ line: 8, field: "rules[0].approvers.count" });
    expect(e?.message).toBe("count 3 can never be met: only 2 user(s) and no teams can approve");
  });

  it("reports duplicate YAML keys", () => {
    const [e] = errorsOf("version: 1\nversion: 1\n");
    expect(e).toMatchObject({ line: 2 });
    expect(e?.message).toContain("duplicated mapping key");
  });

  it("refuses YAML aliases", () => {
    const [e] = errorsOf('version: 1\nclasses:\n  a: &g ["x/**"]\n  b: *g\n');
    expect(e?.message).toBe("YAML aliases (*name) are not allowed in a policy file");
    expect(e?.line).toBe(4);
  });

  it("refuses tabs in indentation", () => {
    const [e] = errorsOf("version: 1\nclasses:\n\tdocs: []\n");
    expect(e?.line).toBe(3);
  });

  it("refuses an empty file", () => {
    expect(errorsOf("")[0]?.message).toBe("the policy file is empty");
  });

  it("refuses a file over the size limit", () => {
    expect(errorsOf(`# ${"x".repeat(300 * 1024)}\nversion: 1\n`)[0]?.message).toMatch(/bytes; the limit is 262144$/);
  });

  it("refuses nesting deeper than the limit", () => {
    expect(errorsOf(`version: 1\nx: ${"[".repeat(40)}${"]".repeat(40)}\n`)[0]?.message).toBe("the YAML nests deeper than 32 levels");
  });

  it("reports an unknown agent in match.agents", () => {
    const [e] = errorsOf(BASE.replace("classes: [docs] }", "classes: [docs], agents: [copilto] }"));
    expect(e?.message).toBe('unknown agent "copilto"; did you mean "copilot"?');
  });

  it("reports an empty active window", () => {
    const [e] = errorsOf(BASE.replace("action: allow", "action: allow\n    active: { from: 2026-12-31, until: 2026-01-01 }"));
    expect(e).toMatchObject({ field: "rules[0].active", line: 8 });
  });

  it("reports a require_approval default with nobody to approve", () => {
    const [e] = errorsOf("version: 1\n");
    expect(e).toMatchObject({ field: "default" });
  });
});

describe("loadPolicy: combined with an org policy", () => {
  const ORG = loadPolicy(
    "version: 1\nagents: { custom: [{ name: acme-bot, logins: [acme] }] }\ndefault: allow\ndefault_approvers: { users: [dev] }\nowners: { users: [o] }\nlimits: { max_files: 5 }\n",
    "org.yml",
  );
  const org = ORG.ok ? ORG.loaded.policy : undefined;
  const REPO =
    'version: 1\nrules:\n  - id: bot-api\n    match: { paths: ["api/**"], agents: [acme-bot] }\n    action: require_approval\nlimits: { max_files: 3, action: require_approval }\n';

  it("accepts a repo rule naming an org agent, and gates relying on the org's approvers", () => {
    const result = loadPolicy(REPO, ".governance.yml", { org });
    expect(result.ok && result.loaded.warnings).toEqual([]);
  });

  it("reports each of those, with a suggestion, when the repo file is checked alone", () => {
    expect(errorsOf(REPO).map((e) => e.message)).toEqual([
      'unknown agent "acme-bot"',
      'rule "bot-api" requires approval but names no approvers, and there are no default_approvers or owners',
      "default is require_approval but there are no default_approvers or owners to approve",
      "limits.action require_approval needs owners to approve",
    ]);
  });

  it("suggests the org's agent for a misspelt name when combined", () => {
    const result = loadPolicy(REPO.replace("acme-bot]", "acme-bto]"), ".governance.yml", { org });
    expect(!result.ok && result.errors.map((e) => [e.line, e.column, e.message])).toEqual([[4, 42, 'unknown agent "acme-bto"; did you mean "acme-bot"?']]);
  });

  it("allows a repo agent with the name of an org agent (their signals are unioned)", () => {
    const text = "version: 1\nagents: { custom: [{ name: acme-bot, labels: [ai] }] }\ndefault: allow\n";
    expect(loadPolicy(text, ".governance.yml", { org }).ok).toBe(true);
  });
});

describe("loadPolicy: warnings", () => {
  it("warns when a glob can only match at the root", () => {
    const [w] = warningsOf(BASE.replace('["docs/**"]', '["*.md"]'));
    expect(w).toMatchObject({ severity: "warning", line: 3, field: "classes.docs[0]" });
    expect(w?.message).toBe('"*.md" only matches files at the repository root; did you mean "**/*.md"?');
  });

  it.each([
    [
      "a trailing slash",
      '"infra/terraform/"',
      '"infra/terraform/" ends with /: GitHub reports file paths, never directories, so it matches nothing; did you mean "infra/terraform/**"?',
    ],
    ["an unclosed [", '"app/[id.tsx"', '"app/[id.tsx" has an unclosed [, which minimatch matches as a literal [; did you mean "app/\\\\[id.tsx"?'],
    ["an unclosed {", '"src/{a,b/x.ts"', '"src/{a,b/x.ts" has an unclosed {, which minimatch matches as a literal {; did you mean "src/\\\\{a,b/x.ts"?'],
  ])("warns about a glob with %s that can never match what GitHub reports, with the fix", (_what, glob, message) => {
    const [w] = warningsOf(BASE.replace('["docs/**"]', `[${glob}]`));
    expect(w).toMatchObject({ severity: "warning", line: 3, column: 11, field: "classes.docs[0]", message });
  });

  it("warns about a never-matching glob in a rule's paths and a custom agent's branches too", () => {
    const text = BASE.replace("classes: [docs] }", 'classes: [docs], paths: ["db/"] }').replace(
      "version: 1\n",
      'version: 1\nagents: { custom: [{ name: bot, branches: ["bot/"] }] }\n',
    );
    expect(warningsOf(text).map((w) => w.field)).toEqual(["agents.custom[0].branches[0]", "rules[0].match.paths[0]"]);
  });

  it("still rejects a leading ./ or / as an error rather than a warning", () => {
    expect(errorsOf(BASE.replace('["docs/**"]', '["./docs/**"]'))[0]?.message).toMatch(/never match a repository path/);
    expect(errorsOf(BASE.replace('["docs/**"]', '["/docs/**"]'))[0]?.message).toMatch(/drop the leading \//);
  });

  it("warns when there are no owners", () => {
    const [w] = warningsOf("version: 1\ndefault: allow\n");
    expect(w?.message).toMatch(/^no owners/);
  });
});
