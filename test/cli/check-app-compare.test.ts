// The same change through `governor check` (a real git repository, the real bin) and through the app (Probot with
// the GitHub fake, the base's policy on "GitHub", the PR's files and commits as GitHub lists them): same answer.
import { afterEach, describe, expect, it } from "vitest";
import { type Decision, DecisionSchema } from "../../src/policy/decision.js";
import { BASE, NOW, prPayload, setFiles, setPolicy, startTestApp, type TestApp } from "../helpers/app.js";
import { runBin } from "../helpers/cli.js";
import { fixturePolicy } from "../helpers/policy.js";
import { gitRepo } from "./check-repo.js";

const WEBAPP = fixturePolicy("webapp-monorepo.yml");
const MESSAGE = "Move the rates doc, add a migration, loosen the policy\n\nCo-Authored-By: Claude <noreply@anthropic.com>";

let app: TestApp | undefined;
afterEach(() => app?.close());

const essence = (d: Decision) => ({
  outcome: d.outcome,
  agent: d.agent?.name,
  rules: d.rules.map((r) => ({ id: r.id, action: r.action, files: r.files, met: r.gate?.met })),
  limits: d.limits,
});

describe("governor check gives the app's answer", () => {
  it("decides a human-authored branch with a Claude co-author, a quoted rename and a policy edit as the app does", async () => {
    const repo = gitRepo({ ".governance.yml": WEBAPP, "apps/api/src/billing/rätes.md": "rate\n".repeat(20), "docs/intro.md": "hello\n" });
    repo.git("checkout", "-qb", "feature/rates");
    repo.commit(MESSAGE, {
      "apps/api/src/billing/rätes.md": null,
      "docs/rätes.md": "rate\n".repeat(20),
      "db/migrations/0042_index.sql": "create index i on t(c);\n",
      "docs/intro.md": "hello\nworld\n",
      ".governance.yml": WEBAPP.replace("max_files: 50", "max_files: 500"),
    });
    const r = runBin(["check", "--base", "main", "--author", "dana", "--repo", "acme/webapp", "--format", "json", "--now", NOW.toISOString()], {
      cwd: repo.dir,
      env: { GITHUB_TOKEN: "" },
    });
    expect(r.stderr).toBe("");
    const local = DecisionSchema.parse((JSON.parse(r.stdout) as { decision: unknown }).decision);

    // What GitHub would show the app for the same PR: the base's policy, the files API's list, the commits API's list.
    app = await startTestApp();
    setPolicy(app.github, WEBAPP, { ref: BASE });
    setFiles(app.github, [
      { filename: ".governance.yml", status: "modified", additions: 1, deletions: 1 },
      { filename: "db/migrations/0042_index.sql", status: "added", additions: 1, deletions: 0 },
      { filename: "docs/intro.md", status: "modified", additions: 1, deletions: 0 },
      { filename: "docs/rätes.md", status: "renamed", previous_filename: "apps/api/src/billing/rätes.md", additions: 0, deletions: 0 },
    ]);
    app.github.state.commits.set("acme/webapp#7", [{ author: { login: "dana" }, commit: { message: MESSAGE, author: { email: "dana@example.com" } } }]);
    await app.deliver("pull_request", prPayload({ author: { login: "dana", type: "User" }, branch: "feature/rates" }));
    const remote = DecisionSchema.parse(JSON.parse(app.audit.latestForPr("acme/webapp", 7)!.decision));

    expect(remote.outcome).toBe("denied");
    expect(essence(local)).toEqual(essence(remote));
    expect(local.rules.map((x) => x.id)).toEqual([
      "repo.default",
      "builtin:policy-change",
      "repo:billing-freeze",
      "repo:migrations-need-dba",
      "repo:tests-docs-ui",
    ]);
    expect(local.agent?.signals).toEqual([{ kind: "commit_author", value: "noreply@anthropic.com", matched: "claude" }]);
  });
});
