// Issue 12: three `governor serve` replicas on one PostgreSQL database behind a round-robin front, one of them killed
// with SIGKILL and restarted twice while 1,000 deliveries over 100 PRs in 20 installations arrive. Needs the run's
// PostgreSQL server (test/helpers/postgres.ts).
import { randomUUID } from "node:crypto";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { type AppProcess, generateAppKey, startAppProcess } from "../../src/demo/app-process.js";
import { DEMO_SCENARIO } from "../../src/demo/stack.js";
import { loadScenario, startSimulator, type Webhook } from "../../src/sim/index.js";
import { openPostgresStores } from "../../src/store/postgres/index.js";
import { tempDir } from "../helpers/cli.js";
import { freshDatabase } from "../helpers/postgres.js";

const PRS = 100;
const EVENTS_PER_PR = 10;
const INSTALLATIONS = 20;

/**
 * The test's own load balancer: each request goes to the next replica in turn; a replica that refuses the connection
 * (killed) is skipped, as a load balancer's health check would take it out of rotation.
 */
function roundRobin(targets: () => string[]): Promise<{ url: string; server: Server }> {
  let next = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const list = targets();
      const attempt = (tries: number): void => {
        if (tries >= list.length) return void res.writeHead(502).end("no replica answered");
        const target = new URL(req.url ?? "/", list[next++ % list.length]);
        const out = request(target, { method: req.method, headers: req.headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        out.on("error", () => attempt(tries + 1));
        out.end(body);
      };
      attempt(0);
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server })));
}

describe("several replicas on PostgreSQL", () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  });

  it("three replicas, one killed twice during 1,000 deliveries over 100 PRs and 20 installations: each delivery evaluated once or superseded, every PR's newest check correct and none in progress, one intact chain, exact budget places", async () => {
    const began = performance.now();
    const databaseUrl = await freshDatabase("replicas");
    const sim = await startSimulator();
    cleanup.push(() => sim.close());
    const scenario = loadScenario(sim, DEMO_SCENARIO);
    const secret = "replicas-secret";
    const key = generateAppKey();
    const dir = tempDir();
    const replicas: Array<AppProcess | undefined> = [undefined, undefined, undefined];
    const start = async (i: number) => {
      replicas[i] = await startAppProcess({
        appId: scenario.app!.id,
        privateKey: key,
        secret,
        gheHost: sim.host,
        databasePath: join(dir, `unused-${i}.db`),
        // Short leases, so the killed replica's work is taken over within the test; no GOVERNOR_REPLICA_ID: each
        // restart is a new replica, and only expiry frees what the dead one held.
        extraEnv: { DATABASE_URL: databaseUrl, GITHUB_RETRY_BASE_MS: "20", GOVERNOR_CONCURRENCY: "6", GOVERNOR_LEASE_MS: "3000" },
      });
    };
    // The first replica migrates the empty database; the others find it current.
    await start(0);
    await Promise.all([start(1), start(2)]);
    cleanup.push(() => Promise.all(replicas.flatMap((r) => (r ? [r.stop("SIGKILL")] : []))));
    const front = await roundRobin(() => replicas.flatMap((r) => (r ? [r.url] : [])));
    cleanup.push(() => new Promise((r) => front.server.close(r)));
    sim.target(`${front.url}/api/github/webhooks`, secret);

    // 20 orgs, each its own installation with the demo repository and policy (its teams the org's own), without the
    // daily limit: this test counts budget places, it does not deny on them.
    const policy = sim.state.repo("acme/webapp").trees.get(sim.state.resolve("acme/webapp", "main")!)!.get(".governance.yml")!;
    const repos = Array.from({ length: INSTALLATIONS }, (_, k) => {
      const org = `org${k}`;
      sim.addInstallation(9000 + k, org);
      sim.addTeam(`${org}/dba`, ["dana"]);
      sim.addTeam(`${org}/maintainers`, ["mia"]);
      sim.addRepo(org, "webapp", { ".governance.yml": policy.replace(/^limits:.*$/m, "").replaceAll("acme/", `${org}/`), "README.md": "x\n" });
      return `${org}/webapp`;
    });

    const expected: Array<{ repo: string; number: number; conclusion: string }> = [];
    const perPr: Webhook[][] = [];
    for (let i = 0; i < PRS; i++) {
      const repo = repos[i % INSTALLATIONS]!;
      const kind = Math.floor(i / INSTALLATIONS) % 3;
      const path = kind === 0 ? `docs/page-${i}.md` : kind === 1 ? `db/migrations/${1000 + i}.sql` : `src/billing/f${i}.ts`;
      const { pr, webhook } = sim.openPullRequest({
        repo,
        author: { login: "Copilot", type: "Bot" },
        branch: `copilot/task-${i}`,
        files: [{ path, content: "v0\n" }],
      });
      const events = [webhook];
      const pushes = kind === 1 ? EVENTS_PER_PR - 2 : EVENTS_PER_PR - 1;
      for (let p = 1; p <= pushes; p++) events.push(sim.push(repo, pr.number, [{ path, content: `v${p}\n` }]).webhook);
      if (kind === 1) events.push(sim.review(repo, pr.number, { login: "dana", type: "User" }, "APPROVED").webhook);
      perPr.push(events);
      expected.push({ repo, number: pr.number, conclusion: kind === 2 ? "failure" : "success" });
    }
    const deliveries: Array<{ id: string; webhook: Webhook }> = [];
    for (let e = 0; e < EVENTS_PER_PR; e++) for (const events of perPr) if (events[e]) deliveries.push({ id: randomUUID(), webhook: events[e]! });
    expect(deliveries).toHaveLength(PRS * EVENTS_PER_PR);

    const killAt = new Set([330, 660]);
    const unsent: typeof deliveries = [];
    for (let i = 0; i < deliveries.length; i += 10) {
      const batch = deliveries.slice(i, i + 10);
      const kill = killAt.has(i)
        ? new Promise((r) => setTimeout(r, 2)).then(async () => {
            const victim = replicas[1]!;
            replicas[1] = undefined;
            await victim.stop("SIGKILL");
          })
        : undefined;
      const results = await Promise.all(batch.map((d) => sim.send(d.webhook, { deliveryId: d.id }).catch(() => null)));
      results.forEach((r, j) => {
        if (r?.status !== 202) unsent.push(batch[j]!);
      });
      if (kill) {
        await kill;
        await start(1);
      }
    }
    for (const d of unsent) expect((await sim.send(d.webhook, { deliveryId: d.id })).status).toBe(202);

    const deadline = Date.now() + 90_000;
    for (;;) {
      const health = (await (await fetch(`${replicas[0]!.url}/healthz`)).json()) as { inbox_depth: number };
      if (health.inbox_depth === 0) break;
      if (Date.now() > deadline) throw new Error(`the queue did not drain: ${health.inbox_depth} left`);
      await new Promise((r) => setTimeout(r, 100));
    }

    for (const { repo, number, conclusion } of expected) {
      const head = sim.state.pull(repo, number).head.sha;
      const checks = sim.state
        .checkRunsFor(repo, head)
        .filter((c) => c.name === "governance")
        .sort((a, b) => a.id - b.id);
      expect([repo, number, checks.at(-1)?.status, checks.at(-1)?.conclusion]).toEqual([repo, number, "completed", conclusion]);
      expect(checks.filter((c) => c.status !== "completed").map((c) => [repo, number, c.id])).toEqual([]);
    }

    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    cleanup.push(() => db.end());
    const statuses = (
      await db.query<{ status: string; n: number }>(
        "SELECT status, count(*)::integer AS n FROM delivery_queue WHERE event <> 'governor.health' GROUP BY status ORDER BY status",
      )
    ).rows;
    const total = (await db.query<{ n: number }>("SELECT count(DISTINCT delivery_id)::integer AS n FROM delivery_queue WHERE event <> 'governor.health'"))
      .rows[0]!.n;
    expect(total).toBe(PRS * EVENTS_PER_PR);
    expect(statuses.filter((s) => s.status !== "done" && s.status !== "superseded")).toEqual([]);
    // Evaluated once, but for what a replica held when it was killed (its lease lapsed, another replica evaluated it
    // again): at most its concurrency (6) per kill.
    const twice = (
      await db.query<{ delivery_id: string }>("SELECT delivery_id FROM decisions WHERE delivery_id IS NOT NULL GROUP BY delivery_id HAVING count(*) > 1")
    ).rows;
    expect(twice.length).toBeLessThanOrEqual(6 * killAt.size);
    // Budgets exact: in each repository the agent's 5 PRs hold the places 1..5, each once.
    const places = (
      await db.query<{ scope: string; positions: number[] }>(
        "SELECT scope, array_agg(position ORDER BY position) AS positions FROM budget_reservations WHERE scope = ANY($1) GROUP BY scope ORDER BY scope",
        [repos],
      )
    ).rows;
    expect(places).toEqual([...repos].sort().map((scope) => ({ scope, positions: Array.from({ length: PRS / INSTALLATIONS }, (_, i) => i + 1) })));

    const stores = openPostgresStores(databaseUrl);
    cleanup.push(() => stores.close());
    const verified = await stores.audit.verify();
    expect(verified.broken).toBeNull();
    console.log(
      `replicas test (${((performance.now() - began) / 1000).toFixed(0)} s): ${statuses.map((s) => `${s.status} ${s.n}`).join(", ")}; ${twice.length} evaluated twice after kills; ${unsent.length} redelivered; chain intact: ${verified.rows} rows`,
    );
  }, 180_000);
});
