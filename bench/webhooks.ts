// Webhook path cost over real HTTP on loopback: Governor vs a bare Probot app (one check run a delivery) on the same
// simulator, in the same run. Latency is delivery sent -> check run completed as the simulator saw it.
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { createServer } from "node:http";
import { createNodeMiddleware, Probot, ProbotOctokit } from "probot";
import { generateAppKey } from "../src/demo/app-process.js";
import { DEMO_SCENARIO, startStack } from "../src/demo/stack.js";
import { loadScenario, type Simulator, startSimulator, type Webhook } from "../src/sim/index.js";
import type { Account } from "../src/sim/state.js";
import { type BenchResult, percentile } from "./result.js";

const REPO = "acme/webapp";
const BURST = 1_000;
const SEQUENTIAL = 300;
const SENDERS = 16;

interface Run {
  latencies: number[];
  seconds: number;
  peakRssMb: number;
}

/** The demo repo without its daily budget: these are thousands of PRs, and this measures evaluation, not budgets. */
function unlimited(sim: Simulator): void {
  const policy = sim.state.repo(REPO).trees.get(sim.state.resolve(REPO, "main")!)!.get(".governance.yml")!;
  sim.commit(REPO, "main", { ".governance.yml": policy.replace(/^limits:.*$/m, "") });
}

/** `count` agent PRs, a third each allowed (docs), needing approval (migration) and denied (billing). */
function openPrs(sim: Simulator, count: number, from: number): Array<{ number: number; webhook: Webhook }> {
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    const path = [`docs/page-${i}.md`, `db/migrations/${1000 + i}.sql`, `src/billing/f${i}.ts`][i % 3]!;
    const { pr, webhook } = sim.openPullRequest({
      repo: REPO,
      author: { login: "Copilot", type: "Bot" },
      branch: `copilot/task-${i}`,
      files: [{ path, content: "x\n" }],
    });
    return { number: pr.number, webhook };
  });
}

/** Sends every delivery with `senders` in flight, each waiting for its check to complete; RSS sampled every 20 ms. */
async function drive(sim: Simulator, prs: Array<{ number: number; webhook: Webhook }>, senders: number): Promise<Run> {
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: senders }, async () => {
      for (let i = next++; i < prs.length; i = next++) {
        const { number, webhook } = prs[i]!;
        const done = sim.waitForCheck(REPO, number, { timeoutMs: 120_000 });
        const sent = performance.now();
        const answer = await sim.send(webhook);
        if (answer.status >= 300) throw new Error(`delivery answered ${answer.status}: benchmark void`);
        const run = await done;
        latencies.push((run.completedAtMs ?? performance.now()) - sent);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  return { latencies: latencies.sort((a, b) => a - b), seconds, peakRssMb: Math.max(peak, process.memoryUsage().rss) / 2 ** 20 };
}

async function governorRun(senders: number, count: number): Promise<Run> {
  const stack = await startStack();
  try {
    unlimited(stack.sim);
    await drive(stack.sim, openPrs(stack.sim, 30, 100_000), 4); // warm-up: JIT, policy cache, installation token
    return await drive(stack.sim, openPrs(stack.sim, count, 0), senders);
  } finally {
    await stack.close();
  }
}

/** The baseline: Probot's own webhook middleware and Octokit, on the same simulator, posting one completed check run a PR. */
async function bareRun(senders: number, count: number): Promise<Run> {
  const sim = await startSimulator();
  const scenario = loadScenario(sim, DEMO_SCENARIO);
  const secret = randomBytes(16).toString("hex");
  // Probot's default Octokit spaces writes a second apart (its throttling plugin), which would make the baseline a
  // 1 check/s strawman; the bare app gets the same switch Governor uses, so the two differ only in the work they do.
  const probot = new Probot({
    appId: scenario.app?.id ?? 1,
    privateKey: generateAppKey(),
    secret,
    baseUrl: `${sim.url}/api/v3`,
    logLevel: "fatal",
    Octokit: ProbotOctokit.defaults((options: Record<string, unknown>) => ({
      ...options,
      throttle: { ...(options["throttle"] as object | undefined), enabled: false },
    })),
  });
  const middleware = await createNodeMiddleware(
    (app) => {
      app.on("pull_request.opened", async (context) => {
        await context.octokit.rest.checks.create(
          context.repo({ name: "governance", head_sha: context.payload.pull_request.head.sha, status: "completed", conclusion: "success" }),
        );
      });
    },
    { probot },
  );
  const server = createServer((req, res) => void middleware(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  sim.target(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/github/webhooks`, secret);
  try {
    await drive(sim, openPrs(sim, 30, 100_000), 4);
    return await drive(sim, openPrs(sim, count, 0), senders);
  } finally {
    await new Promise((resolve) => server.close(resolve));
    await sim.close();
  }
}

/**
 * The fewest calls each kind of decision can make on GitHub's API: read the PR (one GraphQL query), write the check
 * (one create), and what the outcome itself changes on the PR (a label added, a label swapped: removed and added, a
 * reviewer request, a team membership lookup of an approving reviewer); plus, on a base whose policy was never read,
 * the repo and org policy files. docs/operating.md lists each call and why it is needed.
 */
const CALL_FLOOR: Record<string, number> = {
  "allowed (docs), first PR on this base: policy read": 5,
  "allowed (docs), policy cached": 3,
  "needs approval (migration)": 4,
  "approval review -> allowed": 5,
  "denied (billing freeze)": 3,
  "push to a denied PR (synchronize)": 2,
  "human PR (not governed)": 2,
};

/** GitHub calls for one decision of each common kind, counted in the simulator's request log. */
async function callsPerDecision(): Promise<Array<{ scenario: string; calls: number }>> {
  const stack = await startStack();
  const { sim } = stack;
  const out: Array<{ scenario: string; calls: number }> = [];
  const measure = async (scenario: string, act: () => { number: number; webhook: Webhook }): Promise<number> => {
    const { number, webhook } = act();
    const before = sim.requestLog().length;
    const after = sim.latestCheck(REPO, number)?.completedAtMs;
    await sim.send(webhook);
    await sim.waitForCheck(REPO, number, { ...(after !== undefined ? { after } : {}) });
    await new Promise((r) => setTimeout(r, 50)); // let the worker finish its bookkeeping calls, if any
    out.push({ scenario, calls: sim.requestLog().length - before });
    return number;
  };
  try {
    const open =
      (path: string, author: Account = { login: "Copilot", type: "Bot" }) =>
      () => {
        const { pr, webhook } = sim.openPullRequest({
          repo: REPO,
          author,
          branch: `${author.type === "Bot" ? "copilot" : "feature"}/${path}`,
          files: [{ path, content: "x\n" }],
        });
        return { number: pr.number, webhook };
      };
    await measure("allowed (docs), first PR on this base: policy read", open("docs/one.md"));
    await measure("allowed (docs), policy cached", open("docs/two.md"));
    const migration = await measure("needs approval (migration)", open("db/migrations/9001.sql"));
    await measure("approval review -> allowed", () => ({
      number: migration,
      webhook: sim.review(REPO, migration, { login: "dana", type: "User" }, "APPROVED").webhook,
    }));
    const denied = await measure("denied (billing freeze)", open("src/billing/tax.ts"));
    await measure("push to a denied PR (synchronize)", () => ({
      number: denied,
      webhook: sim.push(REPO, denied, [{ path: "src/billing/tax.ts", content: "y\n" }]).webhook,
    }));
    await measure("human PR (not governed)", open("README.md", { login: "octocat", type: "User" }));
  } finally {
    await stack.close();
  }
  return out;
}

export async function benchWebhooks(): Promise<BenchResult[]> {
  const bareLatency = await bareRun(1, SEQUENTIAL);
  const govLatency = await governorRun(1, SEQUENTIAL);
  const bareBurst = await bareRun(SENDERS, BURST);
  const govBurst = await governorRun(SENDERS, BURST);
  const calls = await callsPerDecision();

  const p = (r: Run, q: number) => percentile(r.latencies, q);
  const rate = (r: Run) => r.latencies.length / r.seconds;
  return [
    {
      name: "webhook -> completed check, p50 (one at a time)",
      value: p(govLatency, 50),
      unit: "ms",
      baseline: { name: "bare Probot app", value: p(bareLatency, 50) },
      ratio: p(bareLatency, 50) / p(govLatency, 50),
      note: `${SEQUENTIAL} deliveries; ratio < 1 = slower than the bare app`,
    },
    {
      name: "webhook -> completed check, p99 (one at a time)",
      value: p(govLatency, 99),
      unit: "ms",
      baseline: { name: "bare Probot app", value: p(bareLatency, 99) },
      ratio: p(bareLatency, 99) / p(govLatency, 99),
      note: "target p99 < 50 ms",
    },
    {
      name: `webhook -> completed check, p50 (${SENDERS} in flight)`,
      value: p(govBurst, 50),
      unit: "ms",
      baseline: { name: "bare Probot app", value: p(bareBurst, 50) },
      ratio: p(bareBurst, 50) / p(govBurst, 50),
      note: `${BURST} deliveries`,
    },
    {
      name: `webhook -> completed check, p99 (${SENDERS} in flight)`,
      value: p(govBurst, 99),
      unit: "ms",
      baseline: { name: "bare Probot app", value: p(bareBurst, 99) },
      ratio: p(bareBurst, 99) / p(govBurst, 99),
      note: `${BURST} deliveries`,
    },
    {
      name: "webhooks per second (decided and reported)",
      value: rate(govBurst),
      unit: "/s",
      baseline: { name: "bare Probot app", value: rate(bareBurst) },
      ratio: rate(govBurst) / rate(bareBurst),
      note: `${BURST} deliveries, ${SENDERS} in flight; target ratio >= 0.8`,
    },
    {
      name: "peak RSS during the webhook run",
      value: govBurst.peakRssMb,
      unit: "MiB",
      baseline: { name: "bare Probot app", value: bareBurst.peakRssMb },
      ratio: bareBurst.peakRssMb / govBurst.peakRssMb,
      note: "benchmark process: simulator + app in one process",
    },
    ...calls.map((c) => ({
      name: `GitHub calls: ${c.scenario}`,
      value: c.calls,
      unit: "calls",
      baseline: { name: "floor", value: CALL_FLOOR[c.scenario] ?? 0 },
      note: "the floor: the PR's query, the check, what the outcome changes on the PR (and a policy never read); the bare app makes one call and decides nothing",
    })),
  ];
}
