// Issue 14 over HTTP: observe mode and break-glass overrides, signed webhooks against the simulator and `governor serve`.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { generateAppKey } from "../../src/demo/app-process.js";
import { type Stack, startStack } from "../../src/demo/stack.js";
import { startGovernor } from "../../src/server/start.js";
import { run } from "../helpers/cli.js";

const REPO = "acme/webapp";
const copilot = { login: "Copilot", type: "Bot" as const };
const oncall = { login: "oncall", type: "User" as const };
let s: Stack;
beforeEach(async () => {
  s = await startStack({ tune: { requestTimeoutMs: 2000, retryBaseMs: 50 } });
});
afterEach(async () => {
  await s.close();
});

const newestRun = (sha: string) =>
  s.sim.state
    .checkRunsFor(REPO, sha)
    .filter((r) => r.name === "governance")
    .sort((a, b) => b.id - a.id)[0];
async function deliver(webhook: Parameters<Stack["sim"]["send"]>[0]) {
  expect((await s.sim.send(webhook)).status).toBe(202);
  await s.governor.worker.whenIdle();
}
async function open(branch: string, path: string) {
  const { pr, webhook } = s.sim.openPullRequest({ repo: REPO, author: copilot, branch, files: [{ path, content: "x\n" }] });
  await deliver(webhook);
  return pr;
}

describe("over HTTP: observe mode", () => {
  it("leaves an observe-mode repo's check neutral, titled with what it would deny, and records both in the audit trail", async () => {
    s.sim.commit(REPO, "main", {
      ".governance.yml":
        'version: 1\nmode: observe\nrules:\n  - id: billing-freeze\n    match: { paths: ["src/billing/**"] }\n    action: deny\ndefault: allow\nowners: { users: [olga] }\n',
    });
    const pr = await open("copilot/bill", "src/billing/a.ts");
    expect(newestRun(pr.head.sha)).toMatchObject({
      conclusion: "neutral",
      output: { title: expect.stringContaining("Observe: would deny (repo:billing-freeze)") },
    });
    const listed = await run(["audit", "list", "--would-block", "--json", "--db", s.databasePath], { cwd: process.cwd() });
    const rows = JSON.parse(listed.stdout) as Array<{ pr: number; outcome: string }>;
    expect(rows).toEqual([expect.objectContaining({ pr: pr.number, outcome: "allowed" })]);
    const shown = await run(["audit", "show", String((rows[0] as unknown as { id: number }).id), "--json", "--db", s.databasePath], { cwd: process.cwd() });
    expect((JSON.parse(shown.stdout) as { decision: { observed?: unknown } }).decision.observed).toEqual({ outcome: "denied", rules: ["repo:billing-freeze"] });
    expect((await run(["audit", "replay", "--all", "--db", s.databasePath], { cwd: process.cwd() })).code).toBe(0);
  });

  it("enforces the other rules beside one rule on trial in observe mode", async () => {
    s.sim.commit(REPO, "main", {
      ".governance.yml":
        'version: 1\nrules:\n  - id: trial\n    mode: observe\n    match: { paths: ["docs/**"] }\n    action: deny\n  - id: secrets\n    match: { paths: ["secrets/**"] }\n    action: deny\ndefault: allow\nowners: { users: [olga] }\n',
    });
    const trial = await open("copilot/docs", "docs/a.md");
    const secret = await open("copilot/secret", "secrets/key");
    expect(newestRun(trial.head.sha)).toMatchObject({ conclusion: "neutral", output: { title: expect.stringContaining("Observe: would deny (repo:trial)") } });
    expect(newestRun(secret.head.sha)).toMatchObject({ conclusion: "failure", output: { title: "Denied: repo:secrets" } });
  });
});

describe("over HTTP: break-glass overrides", () => {
  const POLICY =
    'version: 1\nrules:\n  - id: billing-freeze\n    match: { paths: ["src/billing/**"] }\n    action: deny\ndefault: allow\nowners: { users: [olga] }\noverrides: { users: [oncall] }\n';
  beforeEach(() => {
    s.sim.commit(REPO, "main", { ".governance.yml": POLICY });
  });
  // Governor's replies (the simulator posts as the app's bot) to /governance commands.
  const replies = (n: number) =>
    s.sim
      .commentsOn(REPO, n)
      .filter((c) => c.user === `${s.sim.state.app.slug}[bot]`)
      .map((c) => c.body);

  it("turns the head's check green for a listed person's override by comment, labels the PR and records a replayable row", async () => {
    const pr = await open("copilot/hotfix", "src/billing/fix.ts");
    expect(newestRun(pr.head.sha)?.conclusion).toBe("failure");
    expect(newestRun(pr.head.sha)?.actions).toEqual([{ label: "Override", description: expect.any(String), identifier: "governance-override" }]);
    await deliver(s.sim.comment(REPO, pr.number, oncall, "/governance override payments are down, INC-4711"));
    expect(newestRun(pr.head.sha)).toMatchObject({
      conclusion: "success",
      output: { title: "Overridden by @oncall", summary: expect.stringContaining("payments are down, INC-4711") },
    });
    expect(s.sim.labelsOn(REPO, pr.number)).toContain("governance: overridden");
    expect(replies(pr.number).at(-1)).toMatch(/^Overridden: .*audit row \d+/);
    const rows = JSON.parse(
      (await run(["audit", "list", "--pr", String(pr.number), "--json", "--db", s.databasePath], { cwd: process.cwd() })).stdout,
    ) as Array<{ title: string }>;
    expect(rows[0]?.title).toBe("Overridden by @oncall");
    expect((await run(["audit", "replay", "--all", "--db", s.databasePath], { cwd: process.cwd() })).code).toBe(0);
    expect((await run(["audit", "verify", "--db", s.databasePath], { cwd: process.cwd() })).code).toBe(0);
  });

  it("refuses an unlisted person, the author, a bot and a missing reason, each with a reply, and the check stays red", async () => {
    const pr = await open("copilot/hotfix2", "src/billing/fix.ts");
    await deliver(s.sim.comment(REPO, pr.number, { login: "mallory", type: "User" }, "/governance override trust me, it is fine"));
    await deliver(s.sim.comment(REPO, pr.number, copilot, "/governance override I am sure this is fine"));
    await deliver(s.sim.comment(REPO, pr.number, { login: "renovate[bot]", type: "Bot" }, "/governance override automated hotfix please"));
    await deliver(s.sim.comment(REPO, pr.number, oncall, "/governance override"));
    const got = replies(pr.number);
    expect(got).toHaveLength(4);
    expect(got[0]).toMatch(/^Not overridden: @mallory is not named in the policy's `overrides`/);
    expect(got[1]).toMatch(/^Not overridden: @Copilot (is a bot or an agent|opened this PR)/);
    expect(got[2]).toMatch(/^Not overridden: @renovate\[bot\] is a bot or an agent/);
    expect(got[3]).toMatch(/^Not overridden: an override needs a reason/);
    expect(newestRun(pr.head.sha)?.conclusion).toBe("failure");
    const refused = JSON.parse(
      (await run(["audit", "list", "--pr", String(pr.number), "--json", "--db", s.databasePath], { cwd: process.cwd() })).stdout,
    ) as Array<{ title: string }>;
    expect(refused.filter((r) => r.title.startsWith("Override refused"))).toHaveLength(4);
  });

  it("does not survive a push: the new head is evaluated normally and the label goes", async () => {
    const pr = await open("copilot/hotfix3", "src/billing/fix.ts");
    await deliver(s.sim.comment(REPO, pr.number, oncall, "/governance override payments are down, INC-4712"));
    expect(newestRun(pr.head.sha)?.conclusion).toBe("success");
    const { sha, webhook } = s.sim.push(REPO, pr.number, [{ path: "src/billing/more.ts", content: "y\n" }]);
    await deliver(webhook);
    expect(newestRun(sha)).toMatchObject({ conclusion: "failure", output: { title: "Denied: repo:billing-freeze" } });
    expect(s.sim.labelsOn(REPO, pr.number)).not.toContain("governance: overridden");
  });

  it("does nothing on a PR that is already allowed, and says so", async () => {
    const pr = await open("copilot/docs", "docs/ok.md");
    await deliver(s.sim.comment(REPO, pr.number, oncall, "/governance override just to be sure of it"));
    expect(replies(pr.number).at(-1)).toMatch(/^Not overridden: #\d+ is not blocked/);
    expect(newestRun(pr.head.sha)?.output.title).not.toContain("Overridden");
  });

  it("answers the Override button with instructions to comment", async () => {
    const pr = await open("copilot/hotfix4", "src/billing/fix.ts");
    await deliver(s.sim.pressAction(REPO, pr.number, oncall, "governance-override"));
    expect(replies(pr.number).at(-1)).toContain("/governance override <reason");
    expect(replies(pr.number).at(-1)).toContain("@oncall (repo)");
  });
});

describe("over HTTP: re-evaluation when the policy changes", () => {
  beforeEach(async () => {
    await s.close();
    s = await startStack({ tune: { requestTimeoutMs: 2000, retryBaseMs: 50, reevaluateEveryMs: 50 } });
  });
  async function until(test: () => boolean) {
    const deadline = Date.now() + 10_000;
    while (!test() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await s.governor.worker.whenIdle();
  }

  it("turns an open allowed PR denied when a policy edit is merged into its base branch, without any PR event", async () => {
    s.sim.commit(REPO, "main", { ".governance.yml": "version: 1\ndefault: allow\nowners: { users: [olga] }\n" });
    const pr = await open("copilot/docs-late", "docs/late.md");
    expect(newestRun(pr.head.sha)?.conclusion).toBe("success");
    const { webhook } = s.sim.pushToBranch(REPO, "main", {
      ".governance.yml":
        'version: 1\nrules:\n  - id: docs-freeze\n    match: { paths: ["docs/**"] }\n    action: deny\ndefault: allow\nowners: { users: [olga] }\n',
    });
    await deliver(webhook);
    await until(() => newestRun(pr.head.sha)?.conclusion === "failure");
    expect(newestRun(pr.head.sha)).toMatchObject({ conclusion: "failure", output: { title: "Denied: repo:docs-freeze" } });
  });

  it("turns an open PR in another repository denied when the org policy in .github changes", async () => {
    s.sim.addRepo("acme", "api", { "README.md": "api\n" });
    s.sim.commit("acme/.github", "main", { "governance.yml": "version: 1\ndefault: allow\nowners: { users: [olga] }\n" });
    const { pr, webhook: opened } = s.sim.openPullRequest({
      repo: "acme/api",
      author: copilot,
      branch: "copilot/api",
      files: [{ path: "src/api.ts", content: "x\n" }],
    });
    await deliver(opened);
    const apiRun = () =>
      s.sim.state
        .checkRunsFor("acme/api", pr.head.sha)
        .filter((r) => r.name === "governance")
        .sort((a, b) => b.id - a.id)[0];
    expect(apiRun()?.conclusion).toBe("success");
    const { webhook } = s.sim.pushToBranch("acme/.github", "main", { "governance.yml": "version: 1\ndefault: deny\nowners: { users: [olga] }\n" });
    await deliver(webhook);
    await until(() => apiRun()?.conclusion === "failure");
    expect(apiRun()).toMatchObject({ conclusion: "failure", output: { title: expect.stringContaining("Denied") } });
  });

  it("reads the policy of the base branch as it is now, not at the PR's recorded base commit", async () => {
    s.sim.commit(REPO, "main", { ".governance.yml": "version: 1\ndefault: allow\nowners: { users: [olga] }\n" });
    const pr = await open("copilot/docs-now", "docs/now.md");
    expect(newestRun(pr.head.sha)?.conclusion).toBe("success");
    // The policy changes on main with no push delivery; the next event on the PR (a re-run) must see it.
    s.sim.commit(REPO, "main", { ".governance.yml": "version: 1\ndefault: deny\nowners: { users: [olga] }\n" });
    await deliver(s.sim.rerun(REPO, pr.number, { login: "olga", type: "User" }));
    expect(newestRun(pr.head.sha)?.conclusion).toBe("failure");
  });
});

describe("over HTTP: missed webhooks are recovered", () => {
  it("ends a PR opened while Governor was down with the right check, without any new event", async () => {
    s.sim.commit(REPO, "main", {
      ".governance.yml":
        'version: 1\nrules:\n  - id: billing\n    match: { paths: ["src/billing/**"] }\n    action: deny\ndefault: allow\nowners: { users: [olga] }\n',
    });
    const port = Number(new URL(s.governor.url).port);
    await s.governor.close();
    const { pr, webhook } = s.sim.openPullRequest({
      repo: REPO,
      author: copilot,
      branch: "copilot/while-down",
      files: [{ path: "src/billing/down.ts", content: "x\n" }],
    });
    expect((await s.sim.send(webhook)).status).toBe(0); // connection refused: GitHub records a failed delivery
    expect(newestRun(pr.head.sha)).toBeUndefined();
    const again = await startGovernor(
      {
        appId: s.sim.state.app.id,
        privateKey: generateAppKey(),
        secret: s.secret,
        webhookPath: "/api/github/webhooks",
        baseUrl: s.sim.apiUrl,
        logLevel: "fatal",
        databasePath: s.databasePath,
        port,
        host: "127.0.0.1",
        concurrency: 4,
        perInstallation: 4,
        requestTimeoutMs: 2000,
        retryBaseMs: 50,
      },
      () => undefined,
    );
    try {
      const deadline = Date.now() + 10_000;
      while (newestRun(pr.head.sha)?.status !== "completed" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await again.worker.whenIdle();
      expect(newestRun(pr.head.sha)).toMatchObject({ conclusion: "failure", output: { title: "Denied: repo:billing" } });
      const attempts = s.sim.state.deliveries.filter((d) => d.event === "pull_request");
      expect(attempts.map((d) => [d.redelivery, d.status_code === 0 ? "failed" : "ok"])).toEqual([
        [false, "failed"],
        [true, "ok"],
      ]);
      expect(await again.metrics.registry.getSingleMetricAsString("governor_deliveries_recovered_total")).toMatch(/governor_deliveries_recovered_total 1$/m);
    } finally {
      await again.worker.whenIdle();
      await again.close();
    }
  });
});

describe("governor reconcile against the simulator", () => {
  it("evaluates every open PR now with the app's credentials and prints what changed", async () => {
    s.sim.commit(REPO, "main", { ".governance.yml": "version: 1\ndefault: allow\nowners: { users: [olga] }\n" });
    const pr = await open("copilot/reconcile", "docs/r.md");
    expect(newestRun(pr.head.sha)?.conclusion).toBe("success");
    // The policy changes with no delivery at all (a webhook lost, say).
    s.sim.commit(REPO, "main", { ".governance.yml": "version: 1\ndefault: deny\nowners: { users: [olga] }\n" });
    const env = {
      APP_ID: String(s.sim.state.app.id),
      PRIVATE_KEY: generateAppKey(),
      WEBHOOK_SECRET: s.secret,
      GHE_HOST: s.sim.host,
      GHE_PROTOCOL: "http",
      DATABASE_PATH: s.databasePath,
    };
    const r = await run(["reconcile", "--installation", "77", "--repo", REPO], { cwd: process.cwd(), env });
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("1 open PRs evaluated; 1 changed");
    expect(r.stdout).toContain(`${REPO}#${pr.number}: allowed -> denied: Denied: repo.default`);
    expect(newestRun(pr.head.sha)?.conclusion).toBe("failure");
  });
});
