import { randomUUID } from "node:crypto";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { type AppProcess, generateAppKey, startAppProcess } from "../../src/demo/app-process.js";
import { DEMO_SCENARIO } from "../../src/demo/stack.js";
import { loadScenario, startSimulator, type Webhook } from "../../src/sim/index.js";
import { runBin, tempDir } from "../helpers/cli.js";

const REPO = "acme/webapp";
const PRS = 100;
const EVENTS_PER_PR = 10;

/** mulberry32, so the kill points are random but the same on every run. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("crash recovery", () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it("survives three kill -9s during 1,000 deliveries: the newest check of each PR head correct and none left in progress, every delivery accounted for, an intact audit chain", async () => {
    const sim = await startSimulator();
    cleanup.push(() => sim.close());
    const scenario = loadScenario(sim, DEMO_SCENARIO);
    const dir = tempDir();
    const databasePath = join(dir, "governor.db");
    const secret = "crash-secret";
    const key = generateAppKey();
    let app: AppProcess | undefined;
    const start = async () => {
      app = await startAppProcess({
        appId: scenario.app!.id,
        privateKey: key,
        secret,
        gheHost: sim.host,
        databasePath,
        extraEnv: { GITHUB_RETRY_BASE_MS: "20", GOVERNOR_CONCURRENCY: "8" },
      });
      sim.target(app.webhookUrl, secret);
    };
    await start();
    cleanup.push(() => app?.stop("SIGKILL") ?? Promise.resolve());

    // The demo policy's budget (20 PRs a day) would deny most of these 100 PRs; this test is about crashes, not budgets.
    const policy = sim.state.repo(REPO).trees.get(sim.state.resolve(REPO, "main")!)!.get(".governance.yml")!;
    sim.commit(REPO, "main", { ".governance.yml": policy.replace(/^limits:.*$/m, "") });

    // 100 PRs: a third docs (allowed), a third migrations (approved by dana at the final head), a third billing (denied).
    const expected = new Map<number, string>();
    const perPr: Webhook[][] = [];
    for (let i = 0; i < PRS; i++) {
      const kind = i % 3;
      const path = kind === 0 ? `docs/page-${i}.md` : kind === 1 ? `db/migrations/${1000 + i}.sql` : `src/billing/f${i}.ts`;
      const { pr, webhook } = sim.openPullRequest({
        repo: REPO,
        author: { login: "Copilot", type: "Bot" },
        branch: `copilot/task-${i}`,
        files: [{ path, content: "v0\n" }],
      });
      const events = [webhook];
      const pushes = kind === 1 ? EVENTS_PER_PR - 2 : EVENTS_PER_PR - 1;
      for (let p = 1; p <= pushes; p++) events.push(sim.push(REPO, pr.number, [{ path, content: `v${p}\n` }]).webhook);
      if (kind === 1) events.push(sim.review(REPO, pr.number, { login: "dana", type: "User" }, "APPROVED").webhook);
      perPr.push(events);
      expected.set(pr.number, kind === 2 ? "failure" : "success");
    }
    // GitHub's order: each PR's events in sequence, PRs interleaved.
    const deliveries: Array<{ id: string; webhook: Webhook }> = [];
    for (let e = 0; e < EVENTS_PER_PR; e++) for (const events of perPr) if (events[e]) deliveries.push({ id: randomUUID(), webhook: events[e]! });
    expect(deliveries).toHaveLength(PRS * EVENTS_PER_PR);

    const random = rng(424242);
    const killAt = new Set([250, 500, 750].map((n) => n + Math.floor(random() * 100)));
    const unsent: typeof deliveries = [];
    let sent = 0;
    for (let i = 0; i < deliveries.length; i += 10) {
      const batch = deliveries.slice(i, i + 10);
      // The kill lands while this batch is in flight: some deliveries reach the dying process, some find it gone.
      const kill = [...killAt].some((k) => k > sent && k <= sent + 10) ? new Promise((r) => setTimeout(r, 2)).then(() => app!.stop("SIGKILL")) : undefined;
      const results = await Promise.all(batch.map((d) => sim.send(d.webhook, { deliveryId: d.id }).catch(() => null)));
      results.forEach((r, j) => {
        if (r?.status !== 202) unsent.push(batch[j]!); // GitHub marks it failed; it is redelivered below
      });
      sent += batch.length;
      if (kill) {
        await kill;
        await start();
      }
    }
    // Redeliver what did not get a 202 (the app was down), with the same delivery ids, as an operator would.
    for (const d of unsent) expect((await sim.send(d.webhook, { deliveryId: d.id })).status).toBe(202);

    const deadline = Date.now() + 60_000;
    for (;;) {
      const health = (await (await fetch(`${app!.url}/healthz`)).json()) as { inbox_depth: number };
      if (health.inbox_depth === 0) break;
      if (Date.now() > deadline) throw new Error(`the inbox did not drain: ${health.inbox_depth} left`);
      await new Promise((r) => setTimeout(r, 100));
    }

    for (const [number, conclusion] of expected) {
      const head = sim.state.pull(REPO, number).head.sha;
      const checks = sim.state
        .checkRunsFor(REPO, head)
        .filter((c) => c.name === "governance")
        .sort((a, b) => a.id - b.id);
      // GitHub shows the newest run: it carries the right conclusion, and no run is left spinning on the head.
      expect([number, checks.at(-1)?.status, checks.at(-1)?.conclusion]).toEqual([number, "completed", conclusion]);
      expect(checks.filter((c) => c.status !== "completed").map((c) => [number, c.id])).toEqual([]);
    }
    const db = new Database(databasePath, { readonly: true });
    const statuses = db.prepare("SELECT status, count(*) AS n FROM delivery_queue WHERE event != 'governor.health' GROUP BY status").all() as Array<{
      status: string;
      n: number;
    }>;
    const total = db.prepare("SELECT count(DISTINCT delivery_id) AS n FROM delivery_queue WHERE event != 'governor.health'").get() as { n: number };
    db.close();
    expect(total.n).toBe(PRS * EVENTS_PER_PR);
    expect(statuses.filter((s) => s.status !== "done" && s.status !== "superseded")).toEqual([]);
    const verify = runBin(["audit", "verify", "--db", databasePath], { cwd: dir });
    expect(verify.stdout).toMatch(/^chain intact: \d+ rows verified/);
    expect(verify.code).toBe(0);
    console.log(`crash test: ${statuses.map((s) => `${s.status} ${s.n}`).join(", ")}; ${unsent.length} redelivered after kills; ${verify.stdout.trim()}`);
  }, 120_000);
});
