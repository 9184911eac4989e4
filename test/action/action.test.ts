// action.yml's own command lines, run as GitHub's runner would run them (bash -eo pipefail, inputs through `env:`),
// in a real git repository. The install step (npm ci in the action's folder) is skipped: the checkout under test is
// already installed, and reinstalling it would replace the node_modules the tests run from.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { ROOT, tempDir } from "../helpers/cli.js";
import { fixturePolicy } from "../helpers/policy.js";
import { gitRepo } from "../cli/check-repo.js";

interface Step {
  id?: string;
  name: string;
  if?: string;
  shell?: string;
  run?: string;
  env?: Record<string, string>;
  "working-directory"?: string;
}
interface Action {
  inputs: Record<string, { default?: string }>;
  runs: { using: string; steps: Step[] };
}

const action = load(readFileSync(join(ROOT, "action.yml"), "utf8")) as Action;

/** Runs the action's steps with `inputs` in the repository `dir`; returns each step's output and the action's outputs. */
function runAction(dir: string, inputs: Record<string, string>, github: Record<string, string>) {
  const outputFile = join(tempDir(), "github_output");
  const expr = (text: string, values: Record<string, string>) =>
    text.replace(/\$\{\{\s*([\w.-]+)\s*\}\}/g, (_, name: string) => {
      if (!(name in values)) throw new Error(`action.yml uses \${{ ${name} }}, which this test does not provide`);
      return values[name]!;
    });
  const context: Record<string, string> = { "github.action_path": ROOT, ...Object.fromEntries(Object.entries(github).map(([k, v]) => [`github.${k}`, v])) };
  const values: Record<string, string> = { ...context };
  for (const [name, input] of Object.entries(action.inputs)) values[`inputs.${name}`] = inputs[name] ?? expr(input.default ?? "", context);
  const steps: Array<{ id?: string; code: number; stdout: string; stderr: string }> = [];
  for (const step of action.runs.steps) {
    if (step.id === "install" || !step.run) continue;
    if (step.if) {
      const m = /^inputs\.([\w-]+) == '([^']*)'$/.exec(step.if);
      if (!m) throw new Error(`cannot evaluate if: ${step.if}`);
      if (values[`inputs.${m[1]}`] !== m[2]) continue;
    }
    expect(step.shell).toBe("bash");
    const env = Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, expr(v, values)]));
    const cwd = resolve(dir, expr(step["working-directory"] ?? ".", values));
    const r = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", step.run], {
      cwd,
      encoding: "utf8",
      timeout: 60_000,
      env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", GITHUB_OUTPUT: outputFile, ...env },
    });
    steps.push({ ...(step.id ? { id: step.id } : {}), code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr });
    if (r.status !== 0) break;
  }
  let outputs = "";
  try {
    outputs = readFileSync(outputFile, "utf8");
  } catch {
    // no step wrote outputs
  }
  return { steps, outputs };
}

const WEBAPP = fixturePolicy("webapp-monorepo.yml");

function prRepo(files: Record<string, string | null>) {
  const repo = gitRepo({ ".governance.yml": WEBAPP, "README.md": "hi\n" });
  repo.git("checkout", "-qb", "copilot/change");
  repo.commit("change", files);
  const base = repo.git("rev-parse", "main").trim();
  return {
    repo,
    github: {
      "event.pull_request.base.sha": base,
      head_ref: "copilot/change",
      "event.pull_request.user.login": "Copilot",
      "event.pull_request.user.type": "Bot",
    },
  };
}

describe("action.yml", () => {
  it("is a composite action whose every step runs in bash", () => {
    expect(action.runs.using).toBe("composite");
    expect(action.runs.steps.every((s) => !s.run || s.shell === "bash")).toBe(true);
  });

  it("annotates each policy error at its file, line and column, and fails", () => {
    const repo = gitRepo({ ".governance.yml": "version: 1\nrules: 5\nowners: { users: [a] }\n" });
    const { steps } = runAction(
      repo.dir,
      {},
      { "event.pull_request.base.sha": "", head_ref: "", "event.pull_request.user.login": "", "event.pull_request.user.type": "" },
    );
    expect(steps.map((s) => [s.id, s.code])).toEqual([["validate", 2]]);
    expect(steps[0]!.stdout).toBe("::error file=.governance.yml,line=2,col=8,title=governance policy::rules: expected array, got number 5\n");
  });

  it("validates the files named in the policy input", () => {
    const repo = gitRepo({ "a.yml": WEBAPP, "b.yml": "version: 3\n" });
    const { steps } = runAction(
      repo.dir,
      { policy: "a.yml b.yml" },
      { "event.pull_request.base.sha": "", head_ref: "", "event.pull_request.user.login": "", "event.pull_request.user.type": "" },
    );
    expect(steps[0]!.code).toBe(2);
    expect(steps[0]!.stdout).toContain("a.yml: valid\n");
    expect(steps[0]!.stdout).toContain("::error file=b.yml,line=1,col=10,title=governance policy::version:");
  });

  it("with check, fails a denied pull request with an error annotation on each denied file", () => {
    const { repo, github } = prRepo({ "apps/api/src/billing/charge.ts": "x\n", "docs/a.md": "a\n" });
    const { steps, outputs } = runAction(repo.dir, { check: "true" }, github);
    expect(steps.map((s) => [s.id, s.code])).toEqual([
      ["validate", 0],
      ["check", 4],
    ]);
    expect(steps[1]!.stdout).toContain(
      "::error file=apps/api/src/billing/charge.ts,title=governance%3A repo%3Abilling-freeze::repo:billing-freeze: Billing is frozen until the compliance audit. Escalation: Ask @acme/billing-leads in #billing\n",
    );
    expect(steps[1]!.stdout).toContain("Denied: repo:billing-freeze");
    expect(outputs).toBe("result=denied\n");
  });

  it("with check, passes a pull request that needs approval unless fail-on says needs_approval", () => {
    const { repo, github } = prRepo({ "db/migrations/0042.sql": "create index;\n" });
    const lenient = runAction(repo.dir, { check: "true" }, github);
    expect(lenient.steps.map((s) => [s.id, s.code])).toEqual([
      ["validate", 0],
      ["check", 0],
    ]);
    expect(lenient.steps[1]!.stdout).toContain("::warning file=db/migrations/0042.sql,title=governance%3A repo%3Amigrations-need-dba::");
    expect(lenient.outputs).toBe("result=needs_approval\n");
    const strict = runAction(repo.dir, { check: "true", "fail-on": "needs_approval" }, github);
    expect(strict.steps.map((s) => [s.id, s.code])).toEqual([
      ["validate", 0],
      ["check", 3],
    ]);
  });

  it("with check, passes an agent's input through as data, never as shell code", () => {
    const { repo, github } = prRepo({ "docs/a.md": "a\n" });
    const { steps } = runAction(repo.dir, { check: "true", agent: "$(touch pwned)" }, github);
    expect(steps[1]!.code).toBe(2);
    expect(steps[1]!.stderr).toContain('unknown agent "$(touch pwned)"');
    expect(spawnSync("ls", [repo.dir], { encoding: "utf8" }).stdout).not.toContain("pwned");
  });
});
