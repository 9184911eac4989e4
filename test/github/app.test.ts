import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { canonicalJson } from "../../src/policy/canonical.js";
import { decide } from "../../src/policy/decide.js";
import { EvaluationInputSchema } from "../../src/policy/input.js";
import { APP_ID, approve, BASE, HEAD, prPayload, reviewPayload, setFiles, setPolicy, startTestApp, type TestApp } from "../helpers/app.js";
import { fixturePolicy } from "../helpers/policy.js";
import type { EvaluationInput } from "../../src/policy/input.js";
import { example } from "../helpers/webhooks.js";

const POLICY = `version: 1
classes:
  tests: ["test/**", "**/*.test.ts"]
  docs: ["docs/**", "**/*.md"]
  migrations: ["db/migrations/**"]
  billing: ["src/billing/**"]
rules:
  - id: billing-freeze
    match: { classes: [billing] }
    action: deny
    reason: "Billing is frozen until the compliance audit."
    escalate: "Ask @acme/billing-leads in #billing"
  - id: migrations-need-dba
    match: { classes: [migrations] }
    action: require_approval
    approvers: { teams: [acme/dba], count: 1 }
  - id: tests-and-docs
    match: { classes: [tests, docs] }
    action: allow
default: require_approval
default_approvers: { teams: [acme/maintainers], count: 1 }
owners: { teams: [acme/platform] }
`;

let t: TestApp;
beforeEach(async () => {
  t = await startTestApp();
  setPolicy(t.github, POLICY);
  t.github.state.teams.set("acme/dba", ["dana"]);
  t.github.state.teams.set("acme/platform", ["olga"]);
});
afterEach(() => t.close());

type CheckBody = {
  status?: string;
  conclusion?: string;
  output?: { title: string; summary: string; annotations?: Array<{ path: string; annotation_level: string }> };
};
const completed = () =>
  t.github
    .checkWrites()
    .map((c) => c.body as CheckBody)
    .filter((b) => b.status === "completed");
const lastCheck = () => completed().at(-1)!;
/** The change recorded as the input of PR 7's latest decision. */
const storedChange = () => (JSON.parse(t.audit.latestForPr("acme/webapp", 7)!.input!) as EvaluationInput).change;
const addedLabels = () => t.github.callsTo("POST /repos/{o}/{r}/issues/{n}/labels").map((c) => (c.body as { labels: string[] }).labels);
const requested = () => t.github.callsTo("POST /repos/{o}/{r}/pulls/{n}/requested_reviewers").map((c) => c.body);

describe("app: outcomes reported on the PR", () => {
  it("passes an allowed agent PR: in-progress check while the policy is read, success, allowed label", async () => {
    setFiles(t.github, ["docs/guide.md", "test/a.test.ts"]);
    await t.deliver("pull_request", prPayload());
    const created = t.github.callsTo("POST /repos/{o}/{r}/check-runs")[0]?.body;
    expect(created).toMatchObject({ name: "governance", head_sha: HEAD, status: "in_progress" });
    expect(lastCheck()).toMatchObject({ conclusion: "success", output: { title: "Allowed: 2 files within policy" } });
    // Adding a label the repository lacks creates it: no separate create.
    expect(t.github.routes()).not.toContain("POST /repos/{o}/{r}/labels");
    expect(addedLabels()).toEqual([["governance: allowed"]]);
  });

  it("creates the check completed in one call when the policy is cached and the decision is ready at once", async () => {
    setFiles(t.github, ["docs/guide.md"]);
    await t.deliver("pull_request", prPayload());
    t.github.reset();
    await t.deliver("pull_request", prPayload({ action: "synchronize", head: "4".repeat(40) }));
    const writes = t.github.checkWrites();
    expect(writes.map((c) => c.route)).toEqual(["POST /repos/{o}/{r}/check-runs"]);
    expect(writes[0]?.body).toMatchObject({
      head_sha: "4".repeat(40),
      status: "completed",
      conclusion: "success",
      output: { title: "Allowed: 1 file within policy" },
    });
  });

  it("blocks a PR that needs approval, requests the team and labels it", async () => {
    setFiles(t.github, ["db/migrations/0042.sql"]);
    await t.deliver("pull_request", prPayload());
    expect(lastCheck()).toMatchObject({ conclusion: "action_required", output: { title: "Needs approval: 0 of 1 gate met" } });
    expect(lastCheck().output?.summary).toContain("**Approvals:** 0 of 1 from @acme/dba");
    expect(requested()).toEqual([{ reviewers: [], team_reviewers: ["dba"] }]);
    expect(addedLabels()).toEqual([["governance: needs approval"]]);
  });

  it("turns green once a team member approves the head commit, swapping the label", async () => {
    setFiles(t.github, ["db/migrations/0042.sql"]);
    approve(t.github, "dana");
    await t.deliver("pull_request_review", reviewPayload({ reviewer: "dana", state: "APPROVED", labels: ["governance: needs approval"] }));
    expect(lastCheck()).toMatchObject({ conclusion: "success" });
    expect(lastCheck().output?.summary).toContain("approved by @dana");
    expect(t.github.callsTo("DELETE /repos/{o}/{r}/issues/{n}/labels/{name}").map((c) => c.path)).toEqual([
      "/repos/acme/webapp/issues/7/labels/governance: needs approval",
    ]);
    expect(addedLabels()).toEqual([["governance: allowed"]]);
  });

  it("ignores approvals from the PR author and from bots, and says so", async () => {
    setFiles(t.github, ["db/migrations/0042.sql"]);
    t.github.state.teams.set("acme/dba", ["dana", "dev", "renovate[bot]"]);
    approve(t.github, "dev");
    approve(t.github, "renovate[bot]", { type: "Bot" });
    await t.deliver(
      "pull_request_review",
      reviewPayload({ reviewer: "dev", state: "APPROVED", author: { login: "dev", type: "User" }, branch: "codex/add-index" }),
    );
    expect(lastCheck().conclusion).toBe("action_required");
    expect(lastCheck().output?.summary).toContain("Not counted: @dev: the PR author cannot approve their own PR");
    expect(lastCheck().output?.summary).toContain("Not counted: @renovate[bot]: bots and agents cannot approve");
  });

  it("stops counting an approval after a push to the PR", async () => {
    setFiles(t.github, ["db/migrations/0042.sql"]);
    approve(t.github, "dana", { commit: HEAD });
    const pushed = "3".repeat(40);
    await t.deliver("pull_request", prPayload({ action: "synchronize", head: pushed }));
    expect(t.github.callsTo("POST /repos/{o}/{r}/check-runs")[0]?.body).toMatchObject({ head_sha: pushed });
    expect(lastCheck().conclusion).toBe("action_required");
    expect(lastCheck().output?.summary).toContain("Not counted: @dana: approved an earlier commit; the approval was invalidated by a push");
  });

  it("holds a gate while an eligible approver requests changes", async () => {
    setFiles(t.github, ["db/migrations/0042.sql"]);
    t.github.state.teams.set("acme/dba", ["dana", "dave"]);
    approve(t.github, "dana");
    approve(t.github, "dave", { state: "CHANGES_REQUESTED" });
    await t.deliver("pull_request_review", reviewPayload({ reviewer: "dave", state: "CHANGES_REQUESTED" }));
    expect(lastCheck().conclusion).toBe("action_required");
    expect(lastCheck().output?.summary).toContain("**Changes requested by:** @dave");
  });

  it("denies with the rule, the reason, a link to the policy line at the base SHA, the escalation and annotations", async () => {
    setFiles(t.github, ["src/billing/invoice.ts", "docs/a.md"]);
    await t.deliver("pull_request", prPayload());
    const check = lastCheck();
    expect(check).toMatchObject({ conclusion: "failure", output: { title: "Denied: repo:billing-freeze" } });
    expect(check.output?.summary).toContain(`[acme/webapp:.governance.yml line 8](https://github.com/acme/webapp/blob/${BASE}/.governance.yml#L8)`);
    expect(check.output?.summary).toContain("**Why:** Billing is frozen until the compliance audit.");
    expect(check.output?.summary).toContain("**Escalation:** Ask @acme/billing-leads in #billing");
    expect(check.output?.annotations).toEqual([expect.objectContaining({ path: "src/billing/invoice.ts", annotation_level: "failure" })]);
    expect(addedLabels()).toEqual([["governance: denied"]]);
  });

  it("reads the policy from the base commit, not from the head that edits it", async () => {
    setPolicy(t.github, "version: 1\ndefault: allow\nowners: { users: [mallory] }\n", { ref: HEAD });
    setFiles(t.github, ["src/billing/invoice.ts", ".governance.yml"]);
    await t.deliver("pull_request", prPayload());
    const refs = t.github
      .callsTo("GET /repos/{o}/{r}/contents/{path}")
      .filter((c) => c.path.startsWith("/repos/acme/webapp/"))
      .map((c) => c.path);
    expect(refs).toEqual(["/repos/acme/webapp/contents/.governance.yml", "/repos/acme/webapp/contents/.github/governance.yml"]);
    expect(lastCheck().conclusion).toBe("failure");
    const row = t.audit.latestForPr("acme/webapp", 7)!;
    expect(EvaluationInputSchema.parse(JSON.parse(row.input!)).policies.repo?.sha).toBe(BASE);
  });

  it("requires the owners when the agent edits the policy file, even where rules would allow it", async () => {
    setPolicy(t.github, POLICY.replace("rules:\n", "rules:\n  - id: anything\n    match: { paths: ['**'] }\n    action: allow\n"));
    setFiles(t.github, [".governance.yml"]);
    await t.deliver("pull_request", prPayload());
    expect(lastCheck().conclusion).toBe("action_required");
    expect(lastCheck().output?.summary).toContain("#### `builtin:policy-change`: require approval (**not met**)");
    expect(requested()).toEqual([{ reviewers: [], team_reviewers: ["platform"] }]);
  });

  it("applies the org policy, and a repo policy can only tighten it", async () => {
    t.github.state.contents.set("acme/.github@default:governance.yml", fixturePolicy("org.yml"));
    setFiles(t.github, ["config/.env", "docs/a.md"]);
    await t.deliver("pull_request", prPayload());
    expect(lastCheck().output?.title).toBe("Denied: org:no-secrets");
    const input = JSON.parse(t.audit.latestForPr("acme/webapp", 7)!.input!) as { policies: { org: { repo: string; path: string } } };
    expect(input.policies.org).toMatchObject({ repo: "acme/.github", path: "governance.yml" });
  });

  it("fails closed on an invalid policy, listing each error with file and line", async () => {
    setPolicy(t.github, "version: 1\nrules:\n  - id: x\n    match: { classes: [nope] }\n    action: alow\n");
    setFiles(t.github, ["docs/a.md"]);
    await t.deliver("pull_request", prPayload());
    expect(lastCheck()).toMatchObject({ conclusion: "failure", output: { title: "Invalid policy: 1 error" } });
    expect(lastCheck().output?.summary).toContain(
      '`acme/webapp:.governance.yml:5:13`: `rules[0].action`: expected "allow" | "require_approval" | "deny", got string "alow"; did you mean "allow"?',
    );
  });

  it("fails when the repo has both policy files, naming both", async () => {
    setPolicy(t.github, POLICY, { path: ".github/governance.yml" });
    setFiles(t.github, ["docs/a.md"]);
    await t.deliver("pull_request", prPayload());
    expect(lastCheck().conclusion).toBe("failure");
    expect(lastCheck().output?.summary).toContain("both .governance.yml and .github/governance.yml exist on the base branch");
  });

  it("reports neutral when there is no policy anywhere", async () => {
    t.github.state.contents.clear();
    setFiles(t.github, ["src/billing/x.ts"]);
    await t.deliver("pull_request", prPayload());
    expect(lastCheck()).toMatchObject({ conclusion: "neutral", output: { title: "Not governed: no policy" } });
    expect(addedLabels()).toEqual([]);
  });

  it("reports neutral for a human PR and reads no files", async () => {
    await t.deliver("pull_request", prPayload({ author: { login: "octocat", type: "User" }, branch: "feature/x" }));
    expect(lastCheck()).toMatchObject({ conclusion: "neutral", output: { title: "Not governed: the author is not an agent" } });
    expect(t.github.routes()).not.toContain("GET /repos/{o}/{r}/pulls/{n}/files");
  });

  it("recognises an agent that opened the PR as a human from its commits' co-author trailer", async () => {
    setFiles(t.github, ["src/billing/x.ts"]);
    t.github.state.commits.set("acme/webapp#7", [
      { commit: { message: "Fix\n\nCo-authored-by: Claude <noreply@anthropic.com>", author: { email: "dev@acme.com" } } },
    ]);
    await t.deliver("pull_request", prPayload({ author: { login: "dev", type: "User" }, branch: "fix-billing" }));
    expect(lastCheck().conclusion).toBe("failure");
    expect(lastCheck().output?.summary).toContain("**Agent:** claude, identified by commit_author `noreply@anthropic.com`");
  });

  it("recognises a bot's commits by its no-reply address, though GitHub's GraphQL links a bot's commit to no user", async () => {
    setFiles(t.github, ["src/billing/x.ts"]);
    t.github.state.commits.set("acme/webapp#7", [
      {
        author: { login: "devin-ai-integration[bot]" },
        commit: { message: "Fix", author: { email: "158243242+devin-ai-integration[bot]@users.noreply.github.com" } },
      },
    ]);
    await t.deliver("pull_request", prPayload({ author: { login: "dev", type: "User" }, branch: "fix-billing" }));
    expect(lastCheck().conclusion).toBe("failure");
    expect(lastCheck().output?.summary).toContain("**Agent:** devin, identified by commit_author `devin-ai-integration[bot]`");
    expect(storedChange().contributors).toEqual(["devin-ai-integration[bot]"]);
  });

  it("evaluates a draft PR but requests no reviewers", async () => {
    setFiles(t.github, ["db/migrations/1.sql"]);
    await t.deliver("pull_request", prPayload({ draft: true }));
    expect(lastCheck().conclusion).toBe("action_required");
    expect(requested()).toEqual([]);
  });

  it("does not request reviewers already requested", async () => {
    setFiles(t.github, ["db/migrations/1.sql"]);
    const payload = prPayload();
    (payload["pull_request"] as Record<string, unknown>)["requested_teams"] = [{ slug: "dba", name: "DBA" }];
    await t.deliver("pull_request", payload);
    expect(requested()).toEqual([]);
  });

  it("denies a rename into a protected path", async () => {
    setFiles(t.github, [{ filename: "src/billing/helpers.ts", status: "renamed", previous_filename: "docs/helpers.md" }]);
    await t.deliver("pull_request", prPayload());
    expect(lastCheck().output?.title).toBe("Denied: repo:billing-freeze");
  });

  it("denies a PR with more than 3,000 files, which GitHub cannot list in full", async () => {
    setFiles(
      t.github,
      Array.from({ length: 3005 }, (_, i) => `docs/p${i}.md`),
    );
    await t.deliver("pull_request", prPayload({ changedFiles: 3005 }));
    expect(lastCheck().output?.title).toBe("Denied: builtin:incomplete-file-list");
    expect(t.github.callsTo("GET /repos/{o}/{r}/pulls/{n}/files")).toHaveLength(30);
    expect(lastCheck().output?.annotations).toBeUndefined();
  });

  it("judges the PR's current head when a late or redelivered event carries an older one", async () => {
    setFiles(t.github, ["docs/a.md"]);
    const newer = "4".repeat(40);
    t.github.state.pulls.set("acme/webapp#7", prPayload({ action: "synchronize", head: newer })["pull_request"] as Record<string, unknown>);
    await t.deliver("pull_request", prPayload({ action: "synchronize" }), undefined, { stale: true });
    expect(t.github.checkRuns.map((r) => r.head_sha)).toEqual([newer]);
    expect(t.audit.list()[0]?.head_sha).toBe(newer);
  });

  it("shows the strictest decision of the open PRs that share a head commit, since the check belongs to the commit", async () => {
    setFiles(t.github, ["src/billing/tax.ts"], 7);
    await t.deliver("pull_request", prPayload({ number: 7 }));
    setFiles(t.github, ["docs/a.md"], 8);
    await t.deliver("pull_request", prPayload({ number: 8 }));
    expect(t.github.checkRuns.map((r) => [r.head_sha, r.status])).toEqual([
      [HEAD, "completed"],
      [HEAD, "completed"],
    ]);
    expect(lastCheck()).toMatchObject({ conclusion: "failure", output: { title: "Denied: repo:billing-freeze" } });
    expect(lastCheck().output?.summary).toContain("This commit is also the head of #7, whose decision is stricter");
    expect(t.audit.list().map((r) => [r.pr, r.outcome])).toEqual([
      [8, "allowed"],
      [7, "denied"],
    ]);

    t.github.state.pulls.set("acme/webapp#7", { ...(prPayload({ number: 7 })["pull_request"] as Record<string, unknown>), state: "closed" });
    await t.deliver("pull_request", prPayload({ number: 8, action: "synchronize" }));
    expect(lastCheck()).toMatchObject({ conclusion: "success", output: { title: "Allowed: 1 file within policy" } });
  });

  it("does nothing for an event about a PR that has been closed since", async () => {
    t.github.state.pulls.set("acme/webapp#7", { ...(prPayload()["pull_request"] as Record<string, unknown>), state: "closed" });
    await t.deliver("pull_request", prPayload(), undefined, { stale: true });
    expect(t.github.routes()).toEqual(["POST /graphql"]);
  });

  it("does not re-run on edits that leave the base branch alone", async () => {
    await t.deliver("pull_request", { ...prPayload(), action: "edited", changes: { title: { from: "old" } } });
    expect(t.github.calls).toEqual([]);
  });
});

describe("app: re-runs", () => {
  it("evaluates again when the check's Re-run button is pressed", async () => {
    setFiles(t.github, ["docs/a.md"]);
    t.github.state.pulls.set("acme/webapp#7", prPayload()["pull_request"] as Record<string, unknown>);
    const payload = example("check_run", "rerequested");
    Object.assign(payload, { repository: prPayload()["repository"], installation: { id: 99 } });
    Object.assign(payload["check_run"] as object, {
      head_sha: HEAD,
      app: { ...(payload["check_run"] as { app: object }).app, id: APP_ID },
      pull_requests: [{ number: 7, id: 1, url: "", head: { ref: "x", sha: HEAD, repo: {} }, base: { ref: "main", sha: BASE, repo: {} } }],
    });
    await t.deliver("check_run", payload);
    expect(t.github.routes()).toContain("GET /repos/{o}/{r}/pulls/{n}");
    expect(lastCheck().conclusion).toBe("success");
  });

  it("gives two simultaneous evaluations of a commit a run each, closes both, and closes neither as abandoned", async () => {
    setFiles(t.github, ["docs/a.md"]);
    await Promise.all([t.deliver("pull_request", prPayload()), t.deliver("pull_request", prPayload({ action: "reopened" }))]);
    expect(t.github.checkRuns.map((r) => [r.status, r.conclusion])).toEqual([
      ["completed", "success"],
      ["completed", "success"],
    ]);
  });

  it("fails the check and records why when a re-run cannot read its PR", async () => {
    t.github.fail("GET", "GET /repos/{o}/{r}/pulls/{n}", 404);
    const payload = example("check_run", "rerequested");
    Object.assign(payload, { repository: prPayload()["repository"], installation: { id: 99 } });
    Object.assign(payload["check_run"] as object, {
      head_sha: HEAD,
      app: { ...(payload["check_run"] as { app: object }).app, id: APP_ID },
      pull_requests: [{ number: 7, id: 1, url: "", head: { ref: "x", sha: HEAD, repo: {} }, base: { ref: "main", sha: BASE, repo: {} } }],
    });
    await t.deliver("check_run", payload);
    expect(lastCheck()).toMatchObject({
      conclusion: "failure",
      output: { title: expect.stringMatching(/^Error: GitHub answered 404 to GET \/repos\/acme\/webapp\/pulls\/7/) },
    });
    expect(t.audit.list()[0]).toMatchObject({ outcome: "error", pr: 7, head_sha: HEAD });
  });

  it("ignores a re-run of another app's check", async () => {
    const payload = example("check_run", "rerequested");
    Object.assign(payload, { repository: prPayload()["repository"], installation: { id: 99 } });
    Object.assign(payload["check_run"] as object, { app: { ...(payload["check_run"] as { app: object }).app, id: 1 } });
    await t.deliver("check_run", payload);
    expect(t.github.calls).toEqual([]);
  });

  it("evaluates again on check_suite.rerequested, finding PRs by commit when the suite names none", async () => {
    setFiles(t.github, ["docs/a.md"]);
    t.github.state.pulls.set("acme/webapp#7", { ...(prPayload()["pull_request"] as Record<string, unknown>), state: "open" });
    t.github.state.associated.set(`acme/webapp@${HEAD}`, [7]);
    const payload = example("check_suite", "rerequested");
    Object.assign(payload, { repository: prPayload()["repository"], installation: { id: 99 } });
    Object.assign(payload["check_suite"] as object, {
      head_sha: HEAD,
      pull_requests: [],
      app: { ...(payload["check_suite"] as { app: object }).app, id: APP_ID },
    });
    await t.deliver("check_suite", payload);
    expect(lastCheck().conclusion).toBe("success");
  });
});

describe("app: faults fail closed", () => {
  it("retries a GitHub 500 and then reports a failing check saying what failed", async () => {
    setFiles(t.github, ["docs/a.md"]);
    t.github.fail("POST", "POST /graphql", 500);
    await t.deliver("pull_request", prPayload());
    expect(t.github.callsTo("POST /graphql")).toHaveLength(3); // the call and two retries
    expect(lastCheck()).toMatchObject({
      conclusion: "failure",
      output: { title: "Error: could not read PR #7 of acme/webapp (GraphQL: GitHub answered 500)" },
    });
    expect(lastCheck().output?.summary).toContain("use Re-run on this check to try again");
    const row = t.audit.latestForPr("acme/webapp", 7)!;
    expect(row).toMatchObject({
      outcome: "error",
      input: null,
      input_missing_reason: "could not read PR #7 of acme/webapp (GraphQL: GitHub answered 500)",
    });
  });

  it("records an app failure as a code with GitHub's answer as data, not as an English headline", async () => {
    setFiles(t.github, ["docs/a.md"]);
    t.github.fail("POST", "POST /graphql", 500);
    await t.deliver("pull_request", prPayload());
    const decision = JSON.parse(t.audit.latestForPr("acme/webapp", 7)!.decision) as { cause?: unknown };
    expect(decision.cause).toEqual({ code: "github_failure", params: { detail: "could not read PR #7 of acme/webapp (GraphQL: GitHub answered 500)" } });
  });

  it("fails closed when GitHub's GraphQL answer carries errors, even with data beside them", async () => {
    setFiles(t.github, ["docs/a.md"]);
    t.github.graphqlErrors = [{ type: "RESOURCE_LIMITS_EXCEEDED", path: ["repository", "pullRequest", "files"], message: "too costly" }];
    await t.deliver("pull_request", prPayload());
    expect(lastCheck()).toMatchObject({ conclusion: "failure", output: { title: "Error: could not read PR #7 of acme/webapp (GraphQL: too costly)" } });
    expect(t.audit.latestForPr("acme/webapp", 7)).toMatchObject({ outcome: "error", input: null });
  });

  it("fails closed when GitHub's GraphQL answer leaves out part of the PR", async () => {
    setFiles(t.github, ["docs/a.md"]);
    t.github.graphqlOmit = "files";
    await t.deliver("pull_request", prPayload());
    expect(lastCheck()).toMatchObject({
      conclusion: "failure",
      output: { title: expect.stringContaining("Error: GitHub's answer for PR #7 of acme/webapp is incomplete (repository.pullRequest.files") },
    });
  });

  it("looks for its check run before creating it again when the create got a 502, and makes only one", async () => {
    setFiles(t.github, ["docs/a.md"]);
    t.github.fail("POST", "POST /repos/{o}/{r}/check-runs", 502, 1);
    await t.deliver("pull_request", prPayload());
    // The lost create is not repeated blindly: GitHub is asked for an in-progress run of ours first.
    expect(
      t.github
        .routes()
        .filter((r) => r.includes("check-runs") && !r.startsWith("PATCH"))
        .slice(0, 3),
    ).toEqual(["POST /repos/{o}/{r}/check-runs", "GET /repos/{o}/{r}/commits/{ref}/check-runs", "POST /repos/{o}/{r}/check-runs"]);
    expect(t.github.checkRuns.map((r) => [r.status, r.conclusion])).toEqual([["completed", "success"]]);
  });

  it("recovers when GitHub answers after a transient 502", async () => {
    // The PR's snapshot is a call every decision makes: without the retry, this decision would be an error.
    setFiles(t.github, ["docs/a.md"]);
    t.github.fail("POST", "POST /graphql", 502, 1);
    await t.deliver("pull_request", prPayload());
    expect(t.github.callsTo("POST /graphql")).toHaveLength(2); // the failed call and its retry
    expect(lastCheck().conclusion).toBe("success");
  });

  it("reports a clear failure for a payload missing fields, and keeps serving", async () => {
    const payload = prPayload();
    delete (payload["pull_request"] as Record<string, unknown>)["user"];
    await t.deliver("pull_request", payload);
    expect(lastCheck()).toMatchObject({ conclusion: "failure", output: { title: "Error: unreadable webhook payload" } });
    expect(lastCheck().output?.summary).toContain("pull_request.user");
    setFiles(t.github, ["docs/a.md"]);
    t.github.reset();
    await t.deliver("pull_request", prPayload());
    expect(lastCheck().conclusion).toBe("success");
  });
});

describe("app: audit and efficiency", () => {
  it("after a restart, reports on a new run and closes the one a killed process left in progress", async () => {
    t.github.checkRuns.push({ id: 500, repo: "acme/webapp", head_sha: HEAD, name: "governance", status: "in_progress" });
    setFiles(t.github, ["docs/a.md"]);
    await t.deliver("pull_request", prPayload());
    expect(t.github.checkRuns.map((r) => [r.id, r.status, r.conclusion])).toEqual([
      [500, "completed", "cancelled"],
      [1001, "completed", "success"],
    ]);
  });

  it("records the decision with every input before completing the check, and the row replays byte for byte", async () => {
    setFiles(t.github, ["db/migrations/1.sql"]);
    approve(t.github, "dana");
    await t.deliver("pull_request", prPayload(), "delivery-123");
    const row = t.audit.latestForPr("acme/webapp", 7)!;
    expect(row).toMatchObject({ delivery_id: "delivery-123", installation_id: 99, head_sha: HEAD, base_sha: BASE, agent: "copilot", outcome: "allowed" });
    expect(lastCheck().output?.summary).toContain(`audit row ${row.id}`);
    // The row's hash is shown on GitHub, a witness outside the database for `governor audit verify --expect`.
    expect(lastCheck().output?.summary).toContain(`governor audit verify --expect ${row.id}:${row.hash.slice(0, 16)}`);
    const input = EvaluationInputSchema.parse(JSON.parse(row.input!));
    expect(input.change.team_members).toEqual({ "acme/dba": ["dana"] });
    expect(canonicalJson(decide(input))).toBe(row.decision);
  });

  it("counts this agent's PRs of the last 24 hours from the audit trail against its budget", async () => {
    setPolicy(t.github, `${POLICY}limits: { max_prs_per_day: 2 }\n`);
    for (const number of [1, 2, 3]) {
      setFiles(t.github, ["docs/a.md"], number);
      await t.deliver("pull_request", prPayload({ number }));
    }
    expect(completed().map((c) => c.conclusion)).toEqual(["success", "success", "failure"]);
    expect(lastCheck().output?.title).toBe("Denied: limits.max_prs_per_day");
  });

  it("lets an owner's approval pass a PR over its budget when the budget asks for approval", async () => {
    setPolicy(t.github, `${POLICY}limits: { max_prs_per_day: 1, action: require_approval }\n`);
    setFiles(t.github, ["docs/a.md"], 1);
    await t.deliver("pull_request", prPayload({ number: 1 }));
    setFiles(t.github, ["docs/a.md"], 2);
    approve(t.github, "olga", { number: 2 });
    await t.deliver("pull_request", prPayload({ number: 2 }));
    expect(completed().map((c) => [c.conclusion, c.output?.title])).toEqual([
      ["success", "Allowed: 1 file within policy"],
      ["success", "Allowed: 1 file within policy"],
    ]);
    expect(t.github.routes()).toContain("GET /orgs/{org}/teams/{slug}/memberships/{user}");
  });

  it("makes no GitHub call twice in one evaluation (calls per decision)", async () => {
    setFiles(t.github, ["db/migrations/1.sql"]);
    approve(t.github, "dana");
    await t.deliver("pull_request", prPayload());
    const routes = t.github.calls.filter((c) => !c.route.includes("access_tokens")).map((c) => `${c.method} ${c.path}`);
    expect(new Set(routes).size).toBe(routes.length);
    // The first on this base: the policy is read, so the check turns pending first. The PR's state, base branch head,
    // files, commits and reviews are one GraphQL query; the approver's team membership one lookup.
    expect(t.github.routes()).toEqual([
      "POST /graphql",
      "POST /repos/{o}/{r}/check-runs",
      "GET /repos/{o}/{r}/commits/{ref}/check-runs",
      "GET /repos/{o}/{r}/contents/{path}",
      "GET /repos/{o}/{r}/contents/{path}",
      "GET /repos/{o}/{r}/git/commits/{sha}",
      "GET /repos/{o}/{r}/contents/{path}",
      "GET /repos/{o}/{r}",
      "GET /orgs/{org}/teams/{slug}/memberships/{user}",
      "POST /repos/{o}/{r}/issues/{n}/labels",
      "PATCH /repos/{o}/{r}/check-runs/{id}",
    ]);
  });

  it("reads the repo policy once per base commit across evaluations", async () => {
    setFiles(t.github, ["docs/a.md"]);
    await t.deliver("pull_request", prPayload());
    t.github.reset();
    await t.deliver("pull_request", prPayload({ action: "synchronize", head: "4".repeat(40), labels: ["governance: allowed"] }));
    // The repo policy at this base commit is cached for good; "no org policy" is believed for a minute.
    // The check is created completed; this in-memory ledger has not seen the new commit, so GitHub is asked once
    // whether an earlier process left a run of ours in progress there (the server's ledger knows, and does not ask).
    expect(t.github.routes()).toEqual(["POST /graphql", "POST /repos/{o}/{r}/check-runs", "GET /repos/{o}/{r}/commits/{ref}/check-runs"]);
  });

  it("reads an org policy served without an ETag again after a minute, so a tightened one is not missed", async () => {
    t.github.state.etags = false;
    const orgReads = () => t.github.calls.filter((c) => c.path.includes("/repos/acme/.github/contents/")).length;
    t.github.state.contents.set("acme/.github@default:governance.yml", fixturePolicy("org.yml"));
    setFiles(t.github, ["docs/a.md"]);
    await t.deliver("pull_request", prPayload());
    await t.deliver("pull_request", prPayload({ action: "synchronize", head: "4".repeat(40) }));
    expect(orgReads()).toBe(1);
    t.setNow(new Date(Date.parse("2026-11-24T12:01:01Z")));
    await t.deliver("pull_request", prPayload({ action: "synchronize", head: "5".repeat(40) }));
    expect(orgReads()).toBe(2);
  });

  it("records reviews only when the decision has an approval gate, read in the PR's one query either way", async () => {
    setFiles(t.github, ["docs/a.md"]);
    approve(t.github, "dana");
    await t.deliver("pull_request", prPayload());
    expect(storedChange().reviews).toEqual([]);
    setFiles(t.github, ["db/migrations/1.sql"]);
    await t.deliver("pull_request", prPayload({ action: "synchronize", head: "4".repeat(40) }));
    expect(storedChange().reviews).toMatchObject([{ user: { login: "dana" }, state: "APPROVED" }]);
    expect(t.github.routes()).not.toContain("GET /repos/{o}/{r}/pulls/{n}/reviews");
  });

  it("lists files over REST when the PR renames one, since GitHub's GraphQL gives no previous path", async () => {
    setFiles(t.github, [{ filename: "docs/new.md", status: "renamed", previous_filename: "src/billing/old.ts" }]);
    await t.deliver("pull_request", prPayload());
    expect(t.github.routes()).toContain("GET /repos/{o}/{r}/pulls/{n}/files");
    expect(storedChange().files).toEqual([{ path: "docs/new.md", previous_path: "src/billing/old.ts", status: "renamed", additions: 3, deletions: 1 }]);
  });
});
