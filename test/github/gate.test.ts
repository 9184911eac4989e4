// Issue 10, app half: the ways around the gate, each driven through the real Probot handler with the nock fake.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EvaluationInputSchema } from "../../src/policy/input.js";
import { example } from "../helpers/webhooks.js";
import { HEAD, prPayload, setFiles, setPolicy, startTestApp, type TestApp } from "../helpers/app.js";

const POLICY = `version: 1
classes:
  docs: ["docs/**", "**/*.md"]
  billing: ["src/billing/**"]
rules:
  - id: billing-freeze
    match: { classes: [billing] }
    action: deny
  - id: docs
    match: { classes: [docs] }
    action: allow
default: require_approval
default_approvers: { teams: [acme/maintainers], count: 1 }
owners: { users: [olga] }
`;

let t: TestApp;
beforeEach(async () => {
  t = await startTestApp();
  setPolicy(t.github, POLICY);
});
afterEach(() => t.close());

/** mulberry32: random orders that are the same on every run. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), a | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
const shuffle = <T>(items: T[], random: () => number) =>
  items
    .map((v) => ({ v, k: random() }))
    .sort((a, b) => a.k - b.k)
    .map((x) => x.v);
const sha = (n: number) => n.toString(16).padStart(40, "c");

/** The conclusion GitHub shows for a commit: that of the newest `governance` run of this app. */
function shownFor(headSha: string) {
  const runs = t.github.checkRuns.filter((r) => r.head_sha === headSha && r.name === "governance").sort((a, b) => b.id - a.id);
  return runs[0];
}

/** A PR payload with its own opening time. */
function opened(o: Parameters<typeof prPayload>[0] & { createdAt?: string }) {
  const payload = prPayload(o);
  if (o.createdAt) (payload["pull_request"] as Record<string, unknown>)["created_at"] = o.createdAt;
  return payload;
}

describe("budgets hold under bursts", () => {
  it("passes exactly max_prs_per_day of a burst of one agent's PRs evaluated at once, in any order, and keeps them on re-evaluation", async () => {
    setPolicy(t.github, `${POLICY}limits: { max_prs_per_day: 2, action: deny }\n`);
    const random = rng(10);
    for (let round = 0; round < 12; round++) {
      // Each round two days after the last, so budgets do not carry over.
      const day = new Date(Date.parse("2026-11-24T11:00:00Z") + round * 2 * 86_400_000);
      t.setNow(new Date(day.getTime() + 60_000));
      const numbers = Array.from({ length: 6 }, (_, i) => round * 10 + i + 1);
      for (const number of numbers) setFiles(t.github, ["docs/a.md"], number);
      // Opened within the same few seconds, delivered all at once, in a random order.
      await Promise.all(
        shuffle(numbers, random).map((number) =>
          t.deliver("pull_request", opened({ number, head: sha(number), createdAt: new Date(day.getTime() + (number % 7) * 1000).toISOString() })),
        ),
      );
      const conclusions = numbers.map((n) => shownFor(sha(n))?.conclusion);
      expect(
        conclusions.filter((c) => c === "success"),
        `round ${round}: ${conclusions.join(", ")}`,
      ).toHaveLength(2);
      expect(conclusions.filter((c) => c === "failure")).toHaveLength(4);
      // Evaluated again (a push of nothing, a re-run): a PR within budget stays within it, one over stays over.
      const passed = numbers.filter((n) => shownFor(sha(n))?.conclusion === "success");
      await Promise.all(
        shuffle(numbers, random).map((number) =>
          t.deliver(
            "pull_request",
            opened({ number, action: "synchronize", head: sha(number), createdAt: new Date(day.getTime() + (number % 7) * 1000).toISOString() }),
          ),
        ),
      );
      expect(numbers.filter((n) => shownFor(sha(n))?.conclusion === "success")).toEqual(passed);
    }
    expect(t.audit.verify().broken).toBeNull();
  });

  it("binds a PR to the budget of every agent whose signals match: a Copilot PR co-authored by Claude counts against Claude's too", async () => {
    setPolicy(t.github, `${POLICY}limits: { max_prs_per_day: 1, action: deny }\n`);
    const claudeCommit = {
      author: { login: "mona" },
      commit: { message: "fix\n\nCo-Authored-By: Claude <noreply@anthropic.com>", author: { email: "mona@example.com" } },
    };
    for (const number of [1, 2]) {
      setFiles(t.github, ["docs/a.md"], number);
      t.github.state.commits.set(`acme/webapp#${number}`, [claudeCommit]);
    }
    await t.deliver("pull_request", opened({ number: 1, head: sha(1), author: { login: "mona", type: "User" }, branch: "feature/a" }));
    await t.deliver("pull_request", opened({ number: 2, head: sha(2) }));
    expect([shownFor(sha(1))?.conclusion, shownFor(sha(2))?.conclusion]).toEqual(["success", "failure"]);
    expect(EvaluationInputSchema.parse(JSON.parse(t.audit.latestForPr("acme/webapp", 2)!.input!)).context.usage.prs_by_agent).toEqual({
      claude: 2,
      copilot: 1,
    });
  });

  it("records each PR's budget position in the decision's input, and verify refuses a reservation lowered afterwards", async () => {
    setPolicy(t.github, `${POLICY}limits: { max_prs_per_day: 1, action: deny }\n`);
    for (const number of [1, 2]) {
      setFiles(t.github, ["docs/a.md"], number);
      await t.deliver("pull_request", opened({ number, head: sha(number) }));
    }
    const row = t.audit.latestForPr("acme/webapp", 2)!;
    expect(EvaluationInputSchema.parse(JSON.parse(row.input!)).context.usage).toMatchObject({ prs_today: 2, prs_by_agent: { copilot: 2 } });
    expect(t.audit.verify().broken).toBeNull();
    t.audit.db.prepare("UPDATE agent_budget_places SET position = 1 WHERE pr = 2").run();
    expect(t.audit.verify().broken?.problem).toMatch(/decided as copilot's PR number 2 of the day, but the budget reservations \(agent_budget_places\) say 1/);
  });
});

describe("one commit, several PRs", () => {
  const STRICT_BASE = "3".repeat(40);
  // PR 7 into main (docs allowed) and PR 8 into release, whose policy at its base denies everything.
  beforeEach(() => {
    setPolicy(t.github, "version: 1\ndefault: deny\n", { ref: STRICT_BASE });
    setFiles(t.github, ["docs/a.md"], 7);
    setFiles(t.github, ["docs/a.md"], 8);
  });
  const lax = (head: string, action = "opened") => prPayload({ number: 7, head, action });
  const strict = (head: string, action = "opened") => {
    const payload = prPayload({ number: 8, head, action });
    const pr = payload["pull_request"] as { base: Record<string, unknown> };
    pr.base = { ...pr.base, ref: "release", sha: STRICT_BASE };
    return payload;
  };

  it("shows the strictest decision of the PRs sharing a head, whatever order their evaluations start and finish in", async () => {
    const random = rng(1);
    for (let round = 0; round < 30; round++) {
      const head = sha(1000 + round);
      // GitHub's latency, differently each round: the lax PR's reads are slow or fast, so either may finish first.
      t.github.latency = () => Math.floor(random() * 12);
      const deliveries = shuffle([() => t.deliver("pull_request", lax(head)), () => t.deliver("pull_request", strict(head))], random);
      await Promise.all(deliveries.map((d) => d()));
      const shown = shownFor(head);
      expect(shown, `round ${round}`).toMatchObject({ status: "completed", conclusion: "failure" });
      // Nothing of ours is left spinning on the commit.
      expect(t.github.checkRuns.filter((r) => r.head_sha === head && r.status !== "completed")).toEqual([]);
    }
  });

  it("turns a passing commit pending as soon as a new PR appears on it, before it reads anything of the new PR", async () => {
    await t.deliver("pull_request", lax(HEAD));
    expect(shownFor(HEAD)?.conclusion).toBe("success");
    let seenWhileReading: string | undefined;
    t.github.onCall = (route) => {
      // The first read of the new PR's inputs: the policy at its base.
      if (route === "GET /repos/{o}/{r}/contents/{path}" && seenWhileReading === undefined) seenWhileReading = shownFor(HEAD)?.status;
    };
    await t.deliver("pull_request", strict(HEAD));
    expect(seenWhileReading).toBe("in_progress");
    expect(shownFor(HEAD)?.conclusion).toBe("failure");
  });

  it("shows the audit anchor of its own row when it shows a sibling PR's stricter decision", async () => {
    await t.deliver("pull_request", strict(HEAD));
    await t.deliver("pull_request", lax(HEAD));
    const row = t.audit.latestForPr("acme/webapp", 7)!;
    const last = t.github
      .checkWrites()
      .map((c) => c.body as { conclusion?: string; output?: { summary: string } })
      .filter((b) => b.conclusion)
      .at(-1)!;
    expect(last.conclusion).toBe("failure");
    expect(last.output?.summary).toContain("also the head of #8");
    expect(last.output?.summary).toContain(`governor audit verify --expect ${row.id}:${row.hash.slice(0, 16)}`);
  });
});

describe("identity does not come off", () => {
  const human = { login: "mona", type: "User" };
  const comments = () => t.github.callsTo("POST /repos/{o}/{r}/issues/{n}/comments").map((c) => (c.body as { body: string }).body);
  const conclusions = () =>
    t.github
      .checkWrites()
      .map((c) => c.body as { conclusion?: string })
      .filter((b) => b.conclusion)
      .map((b) => b.conclusion);
  function comment(login: string, text: string, type = "User") {
    const base = example("issue_comment", "created");
    const pr = prPayload({ author: human, branch: "feature/x" });
    return {
      ...base,
      action: "created",
      issue: {
        ...(base["issue"] as object),
        number: 7,
        pull_request: {
          url: "https://api.github.com/repos/acme/webapp/pulls/7",
          html_url: "https://github.com/acme/webapp/pull/7",
          diff_url: "",
          patch_url: "",
          merged_at: null,
        },
      },
      comment: { ...(base["comment"] as object), body: text, user: { login, type } },
      repository: pr["repository"],
      installation: pr["installation"],
    };
  }
  beforeEach(() => setFiles(t.github, ["src/billing/x.ts"]));

  it("keeps governing a PR as the agent's once its agent label is removed", async () => {
    await t.deliver("pull_request", prPayload({ author: human, branch: "feature/x", labels: ["codex"] }));
    await t.deliver("pull_request", prPayload({ action: "unlabeled", author: human, branch: "feature/x", labels: [] }));
    expect(conclusions()).toEqual(["failure", "failure"]);
    const input = EvaluationInputSchema.parse(JSON.parse(t.audit.latestForPr("acme/webapp", 7)!.input!));
    expect(input.change.known_agents).toEqual(["codex"]);
  });

  it("matches agent labels case-insensitively, as GitHub's label names are", async () => {
    await t.deliver("pull_request", prPayload({ author: human, branch: "feature/x", labels: ["Codex"] }));
    expect(conclusions()).toEqual(["failure"]);
  });

  it("lets a policy owner release a PR with /governance release, as an audited decision, and evaluates it again", async () => {
    await t.deliver("pull_request", prPayload({ author: human, branch: "feature/x", labels: ["codex"] }));
    t.github.state.pulls.set("acme/webapp#7", prPayload({ author: human, branch: "feature/x", labels: [] })["pull_request"] as Record<string, unknown>);
    await t.deliver("issue_comment", comment("olga", "/governance release a human took this PR over"));
    const release = t.audit.list({ pr: 7 }).find((r) => r.title === "Released from agent governance by @olga")!;
    expect(release).toMatchObject({ outcome: "not_governed", input: null });
    expect(release.input_missing_reason).toBe("released by @olga (was codex): a human took this PR over");
    expect(comments()[0]).toContain(`audit row ${release.id}`);
    expect(conclusions()).toEqual(["failure", "neutral"]);
    expect(t.audit.knownAgents("acme/webapp", 7)).toEqual([]);
    expect(t.audit.verify().broken).toBeNull();
  });

  it("refuses a release by a non-owner, by the PR's author, by a bot, or without a reason, and says why", async () => {
    await t.deliver("pull_request", prPayload({ author: human, branch: "feature/x", labels: ["codex"] }));
    await t.deliver("issue_comment", comment("mallory", "/governance release trust me"));
    await t.deliver("issue_comment", comment("mona", "/governance release it is mine"));
    await t.deliver("issue_comment", comment("chatgpt-codex-connector[bot]", "/governance release done", "Bot"));
    await t.deliver("issue_comment", comment("olga", "/governance release"));
    expect(comments()).toEqual([
      "Not released: only the policy's owners (@olga) can release a PR from agent governance; @mallory is not one of them.",
      "Not released: @mona opened this PR; its author cannot release it.",
      "Not released: @chatgpt-codex-connector[bot] is a bot or an agent; an agent cannot un-govern a PR.",
      "Not released: a release needs a reason: `/governance release <reason>`; it goes into the audit trail.",
    ]);
    expect(t.audit.knownAgents("acme/webapp", 7)).toEqual(["codex"]);
    expect(conclusions()).toEqual(["failure"]);
  });

  it("examines commits beyond the 250 the PR commits API lists, through the compare API", async () => {
    const commits = Array.from({ length: 300 }, (_, i) => ({
      author: { login: i === 280 ? "copilot-swe-agent[bot]" : "mona" },
      committer: { login: "web-flow" },
      commit: { message: `change ${i}`, author: { email: i === 280 ? "198982749+Copilot@users.noreply.github.com" : "mona@example.com" } },
    }));
    t.github.state.commits.set("acme/webapp#7", commits);
    t.github.state.compare.set(`acme/webapp@${"2".repeat(40)}...${HEAD}`, commits);
    const payload = prPayload({ author: human, branch: "feature/x" });
    (payload["pull_request"] as Record<string, unknown>)["commits"] = 300;
    await t.deliver("pull_request", payload);
    expect(conclusions()).toEqual(["failure"]);
    const input = EvaluationInputSchema.parse(JSON.parse(t.audit.latestForPr("acme/webapp", 7)!.input!));
    expect(input.change.contributors).toEqual(["copilot-swe-agent[bot]", "mona", "web-flow"]);
  });

  it("fails closed, saying why, when GitHub cannot list every commit of the PR", async () => {
    const commits = Array.from({ length: 300 }, () => ({
      author: { login: "mona" },
      committer: null,
      commit: { message: "x", author: { email: "mona@example.com" } },
    }));
    t.github.state.commits.set("acme/webapp#7", commits);
    t.github.state.compare.set(`acme/webapp@${"2".repeat(40)}...${HEAD}`, commits.slice(0, 260));
    const payload = prPayload({ author: human, branch: "feature/x" });
    (payload["pull_request"] as Record<string, unknown>)["commits"] = 300;
    await t.deliver("pull_request", payload);
    const last = t.github
      .checkWrites()
      .map((c) => c.body as { conclusion?: string; output?: { title: string } })
      .filter((b) => b.conclusion)
      .at(-1)!;
    expect(last).toMatchObject({
      conclusion: "failure",
      output: { title: "Error: GitHub lists 300 commits for this PR but returned only 260, so Governor cannot see who made all of them" },
    });
  });
});

describe('a policy read that fails is not "no policy"', () => {
  type Body = { conclusion?: string; output?: { title: string; summary: string } };
  const last = () =>
    t.github
      .checkWrites()
      .map((c) => c.body as Body)
      .filter((b) => b.conclusion)
      .at(-1)!;
  const ORG =
    'version: 1\nclasses:\n  billing: ["src/billing/**"]\nrules:\n  - id: org-billing\n    match: { classes: [billing] }\n    action: deny\ndefault: allow\nowners: { users: [olga] }\n';

  it("fails closed when GitHub does not know the PR's base commit, and does not take that as an absent policy", async () => {
    const base = "2".repeat(40);
    t.github.state.contents.delete(`acme/webapp@${base}:.governance.yml`);
    t.github.state.missingCommits.add(`acme/webapp@${base}`);
    setFiles(t.github, ["src/billing/x.ts"]);
    await t.deliver("pull_request", prPayload());
    expect(last()).toMatchObject({
      conclusion: "failure",
      output: {
        title: `Error: GitHub does not know the base commit ${base.slice(0, 12)} of acme/webapp (404), so Governor cannot tell whether it has a policy`,
      },
    });
    // Once GitHub knows the commit, the policy there is read: nothing was cached as absent.
    t.github.state.missingCommits.clear();
    setPolicy(t.github, POLICY);
    await t.deliver("pull_request", prPayload({ action: "synchronize" }));
    expect(last()).toMatchObject({ conclusion: "failure", output: { title: "Denied: repo:billing-freeze" } });
  });

  it("retries a 5xx on a policy read, then fails closed naming the file, and reads it again next time", async () => {
    t.github.fail("GET", "GET /repos/{o}/{r}/contents/{path}", 502, 3);
    setFiles(t.github, ["docs/a.md"]);
    await t.deliver("pull_request", prPayload());
    expect(last().conclusion).toBe("failure");
    expect(last().output?.title).toMatch(
      /^Error: could not read acme\/webapp:\.governance\.yml at the base commit 222222222222 \(GitHub answered 502, after retries\)/,
    );
    await t.deliver("pull_request", prPayload({ action: "synchronize" }));
    expect(last()).toMatchObject({ conclusion: "success" });
  });

  it("does not drop a known org policy when the org's .github repository can no longer be seen", async () => {
    t.github.state.contents.set("acme/.github@default:governance.yml", ORG);
    setPolicy(t.github, "version: 1\ndefault: allow\n");
    setFiles(t.github, ["src/billing/x.ts"]);
    await t.deliver("pull_request", prPayload());
    expect(last().output?.title).toBe("Denied: org:org-billing");
    t.github.state.contents.delete("acme/.github@default:governance.yml");
    t.github.state.hiddenRepos.add("acme/.github");
    await t.deliver("pull_request", prPayload({ action: "synchronize" }));
    expect(last()).toMatchObject({ conclusion: "failure", output: { title: expect.stringContaining("can no longer see acme/.github") } });
  });

  it("says plainly on every check when it cannot see the org's .github repository", async () => {
    t.github.state.hiddenRepos.add("acme/.github");
    setFiles(t.github, ["docs/a.md"]);
    await t.deliver("pull_request", prPayload());
    expect(last().conclusion).toBe("success");
    expect(last().output?.summary).toContain("Governor cannot see the organization's acme/.github repository");
    await t.deliver("pull_request", prPayload({ number: 8, author: { login: "octocat", type: "User" }, branch: "feature/y", head: "9".repeat(40) }));
    expect(last()).toMatchObject({ conclusion: "neutral", output: { summary: expect.stringContaining("Install Governor on acme/.github too.") } });
  });

  it("fails closed when the org requires its policy (GOVERNOR_REQUIRE_ORG_POLICY) and the .github repository cannot be seen", async () => {
    t.close();
    t = await startTestApp({ requireOrgPolicy: true });
    setPolicy(t.github, POLICY);
    t.github.state.hiddenRepos.add("acme/.github");
    setFiles(t.github, ["docs/a.md"]);
    await t.deliver("pull_request", prPayload());
    expect(last()).toMatchObject({ conclusion: "failure", output: { title: "Error: the org policy cannot be read" } });
  });

  it("governs the org's own .github repository by the org policy, also when it has a policy of its own", async () => {
    t.github.state.contents.set("acme/.github@default:governance.yml", ORG);
    t.github.state.contents.set(`acme/.github@${"2".repeat(40)}:.governance.yml`, "version: 1\ndefault: allow\n");
    const payload = prPayload();
    const repository = { ...(payload["repository"] as object), name: ".github", full_name: "acme/.github", html_url: "https://github.com/acme/.github" };
    const pr = payload["pull_request"] as Record<string, unknown>;
    Object.assign(payload, { repository });
    pr["base"] = { ...(pr["base"] as object), repo: repository };
    t.github.state.files.set("acme/.github#7", [{ filename: "src/billing/x.ts", status: "modified", additions: 1, deletions: 0 }]);
    await t.deliver("pull_request", payload);
    expect(last()).toMatchObject({ conclusion: "failure", output: { title: "Denied: org:org-billing" } });
  });
});

describe("every check shows its audit anchor", () => {
  it("shows the anchor on the failing check of an internal failure", async () => {
    t.github.fail("GET", "GET /repos/{o}/{r}/pulls/{n}", 404);
    const payload = example("check_run", "rerequested");
    Object.assign(payload, { repository: prPayload()["repository"], installation: { id: 99 } });
    Object.assign(payload["check_run"] as object, {
      head_sha: HEAD,
      app: { ...(payload["check_run"] as { app: object }).app, id: 4242 },
      pull_requests: [{ number: 7, id: 1, url: "", head: { ref: "x", sha: HEAD, repo: {} }, base: { ref: "main", sha: "2".repeat(40), repo: {} } }],
    });
    await t.deliver("check_run", payload);
    const row = t.audit.list()[0]!;
    const last = t.github
      .checkWrites()
      .map((c) => c.body as { conclusion?: string; output?: { summary: string } })
      .filter((b) => b.conclusion)
      .at(-1)!;
    expect(last.conclusion).toBe("failure");
    expect(last.output?.summary).toContain(`governor audit verify --expect ${row.id}:${row.hash.slice(0, 16)}`);
  });
});
