// Webhook path cost over real HTTP on loopback: Governor vs a bare Probot app (one check run a delivery) on the same
// simulator, in the same run. Latency is delivery sent -> check run completed as the simulator saw it. Throughput and
// CPU per decision are measured with each app as a process of its own (`governor serve`, bench/bare-app.ts), so the
// simulator's own work is in neither figure.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";
import { createNodeMiddleware, Probot, ProbotOctokit } from "probot";
import { generateAppKey, startAppProcess } from "../src/demo/app-process.js";
import { DEMO_SCENARIO, startStack } from "../src/demo/stack.js";
import { loadScenario, type Simulator, startSimulator, type Webhook } from "../src/sim/index.js";
import type { Account } from "../src/sim/state.js";
import { type BenchResult, percentile } from "./result.js";

const REPO = "acme/webapp";
const SEQUENTIAL = 300;
/** The throughput runs: PRs spread over this many installations, sent this many at a time without waiting for checks. */
const INSTALLATIONS = 50;
const BURST = 600;
/** Fewer with GitHub 50 ms away: a run is otherwise minutes long at the old defaults. */
const SLOW_BURST = 300;
const SENDERS = 16;
/** What the slow simulator adds to every GitHub call. */
const GITHUB_LATENCY_MS = 50;

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
    rmSync(dirname(stack.databasePath), { recursive: true, force: true });
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

interface Load {
  /** Decisions completed per second, first delivery sent to last check completed. */
  rate: number;
  /** The app process's CPU (user + system) over the run, per decision. */
  cpuMsPerDecision: number;
  peakRssMb: number;
  latencies: number[];
}

/** CPU time so far and peak RSS of a process, from /proc (Linux; the figures are meant for this machine). */
function processStats(pid: number): { cpuMs: number; peakRssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime (fields 14 and 15 of the line), in clock ticks of 10 ms.
  const cpuMs = (Number(fields[11]) + Number(fields[12])) * 10;
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return { cpuMs, peakRssMb: Number(hwm?.[1] ?? 0) / 1024 };
}

interface AppUnderTest {
  child: ChildProcess;
  webhookUrl: string;
  stop(): Promise<unknown>;
}

/** The bare app (bench/bare-app.ts) as a process of its own. */
function startBareApp(env: Record<string, string>): Promise<AppUnderTest> {
  const script = fileURLToPath(new URL("./bare-app.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", script], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      const url = /listening on (\S+)/.exec(out)?.[1];
      if (url) resolve({ child, webhookUrl: url, stop: () => (child.kill("SIGTERM"), exited) });
    });
    void exited.then((code) => reject(new Error(`bench/bare-app.ts exited (${String(code)}) before listening`)));
  });
}

/** Installations org0..org49, each with a repo under the demo policy (no daily limit: this measures evaluation). */
function spread(sim: Simulator): string[] {
  const policy = sim.state
    .repo(REPO)
    .trees.get(sim.state.resolve(REPO, "main")!)!
    .get(".governance.yml")!
    .replace(/^limits:.*$/m, "");
  return Array.from({ length: INSTALLATIONS }, (_, k) => {
    sim.addInstallation(9000 + k, `org${k}`);
    sim.addRepo(`org${k}`, "webapp", { ".governance.yml": policy, "README.md": "x\n" });
    return `org${k}/webapp`;
  });
}

/** `count` agent PRs round the installations, a third each allowed (docs), needing approval (migration) and denied (billing). */
function spreadPrs(sim: Simulator, repos: string[], count: number, from: number): Array<{ repo: string; number: number; webhook: Webhook }> {
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    const repo = repos[i % repos.length]!;
    const path = [`docs/page-${i}.md`, `db/migrations/${1000 + i}.sql`, `src/billing/f${i}.ts`][Math.floor(i / repos.length) % 3]!;
    const { pr, webhook } = sim.openPullRequest({
      repo,
      author: { login: "Copilot", type: "Bot" },
      branch: `copilot/task-${i}`,
      files: [{ path, content: "x\n" }],
    });
    return { repo, number: pr.number, webhook };
  });
}

/**
 * Sends every delivery, `SENDERS` at a time, without waiting for checks (GitHub does not wait either), and measures
 * until the last PR's check is completed.
 */
async function burst(sim: Simulator, prs: Array<{ repo: string; number: number; webhook: Webhook }>, pid: number): Promise<Load> {
  const before = processStats(pid);
  const latencies: number[] = [];
  const started = performance.now();
  const checks: Array<Promise<void>> = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: SENDERS }, async () => {
      for (let i = next++; i < prs.length; i = next++) {
        const { repo, number, webhook } = prs[i]!;
        const done = sim.waitForCheck(repo, number, { timeoutMs: 300_000 });
        const sent = performance.now();
        const answer = await sim.send(webhook, { deliveryId: randomUUID() });
        if (answer.status >= 300) throw new Error(`delivery answered ${answer.status}: benchmark void`);
        checks.push(done.then((run) => void latencies.push((run.completedAtMs ?? performance.now()) - sent)));
      }
    }),
  );
  await Promise.all(checks);
  const seconds = (performance.now() - started) / 1000;
  const after = processStats(pid);
  return {
    rate: prs.length / seconds,
    cpuMsPerDecision: (after.cpuMs - before.cpuMs) / prs.length,
    peakRssMb: after.peakRssMb,
    latencies: latencies.sort((a, b) => a - b),
  };
}

/** One app as a process of its own on a fresh simulator of 50 installations; warmed up (tokens, policy cache, JIT), then the burst. */
async function loadRun(app: "governor" | "bare", latencyMs: number, governorEnv: Record<string, string> = {}): Promise<Load> {
  const sim = await startSimulator();
  const scenario = loadScenario(sim, DEMO_SCENARIO);
  const repos = spread(sim);
  const secret = randomBytes(16).toString("hex");
  const dir = mkdtempSync(join(tmpdir(), "governor-bench-webhooks-"));
  const privateKey = generateAppKey();
  const appId = scenario.app?.id ?? 1;
  const running: AppUnderTest =
    app === "governor"
      ? await startAppProcess({
          appId,
          privateKey,
          secret,
          gheHost: sim.host,
          databasePath: join(dir, "governor.db"),
          extraEnv: { GITHUB_RETRY_BASE_MS: "20", ...governorEnv },
        }).then((p) => ({ child: p.child, webhookUrl: p.webhookUrl, stop: () => p.stop("SIGTERM") }))
      : await startBareApp({ APP_ID: String(appId), PRIVATE_KEY: privateKey, WEBHOOK_SECRET: secret, GHE_HOST: sim.host });
  try {
    sim.target(running.webhookUrl, secret);
    const pid = running.child.pid!;
    await burst(sim, spreadPrs(sim, repos, 2 * INSTALLATIONS, 100_000), pid);
    if (latencyMs > 0) sim.faults.add({ route: "*", kind: "latency", latencyMs });
    return await burst(sim, spreadPrs(sim, repos, latencyMs > 0 ? SLOW_BURST : BURST, 0), pid);
  } finally {
    await running.stop();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

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
    rmSync(dirname(stack.databasePath), { recursive: true, force: true });
  }
  return out;
}

export async function benchWebhooks(): Promise<BenchResult[]> {
  const bareLatency = await bareRun(1, SEQUENTIAL);
  const govLatency = await governorRun(1, SEQUENTIAL);
  const bareFast = await loadRun("bare", 0);
  const govFast = await loadRun("governor", 0);
  const bareSlow = await loadRun("bare", GITHUB_LATENCY_MS);
  const govSlow = await loadRun("governor", GITHUB_LATENCY_MS);
  const calls = await callsPerDecision();

  const p = (r: { latencies: number[] }, q: number) => percentile(r.latencies, q);
  const load = `${BURST} PRs over ${INSTALLATIONS} installations, sent ${SENDERS} at a time`;
  const slowLoad = `${SLOW_BURST} PRs over ${INSTALLATIONS} installations, sent ${SENDERS} at a time`;
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
      name: "webhooks decided per second, fast simulator",
      value: govFast.rate,
      unit: "/s",
      baseline: { name: "bare Probot app", value: bareFast.rate },
      ratio: govFast.rate / bareFast.rate,
      note: `${load}; aim ratio >= 0.6`,
    },
    {
      name: `webhooks decided per second, GitHub +${GITHUB_LATENCY_MS} ms a call`,
      value: govSlow.rate,
      unit: "/s",
      baseline: { name: "bare Probot app", value: bareSlow.rate },
      ratio: govSlow.rate / bareSlow.rate,
      note: `${slowLoad}; default concurrency; aim ratio >= 0.5`,
    },
    {
      name: "CPU per decision, fast simulator",
      value: govFast.cpuMsPerDecision,
      unit: "ms",
      baseline: { name: "bare Probot app", value: bareFast.cpuMsPerDecision },
      ratio: bareFast.cpuMsPerDecision / govFast.cpuMsPerDecision,
      note: "the app process's user + system CPU (simulator excluded); aim ratio >= 0.5 (at most 2x the bare app)",
    },
    {
      name: "webhook -> completed check under the burst, p50 / fast simulator",
      value: p(govFast, 50),
      unit: "ms",
      baseline: { name: "bare Probot app", value: p(bareFast, 50) },
      ratio: p(bareFast, 50) / p(govFast, 50),
      note: `${load}: mostly time queued`,
    },
    {
      name: "webhook -> completed check under the burst, p99 / fast simulator",
      value: p(govFast, 99),
      unit: "ms",
      baseline: { name: "bare Probot app", value: p(bareFast, 99) },
      ratio: p(bareFast, 99) / p(govFast, 99),
      note: load,
    },
    {
      name: "peak RSS of the app process, fast burst",
      value: govFast.peakRssMb,
      unit: "MiB",
      baseline: { name: "bare Probot app", value: bareFast.peakRssMb },
      ratio: bareFast.peakRssMb / govFast.peakRssMb,
      note: load,
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

/** For choosing the concurrency defaults (docs/operating.md): bench/concurrency.ts. */
export async function sweepConcurrency(settings: Array<[number, number]>, latencyMs: number): Promise<void> {
  const bare = await loadRun("bare", latencyMs);
  console.log(`bare: ${bare.rate.toFixed(1)}/s, ${bare.cpuMsPerDecision.toFixed(2)} ms CPU`);
  for (const [global, perInstallation] of settings) {
    const r = await loadRun("governor", latencyMs, { GOVERNOR_CONCURRENCY: String(global), GOVERNOR_PER_INSTALLATION: String(perInstallation) });
    console.log(
      `concurrency ${global}, per installation ${perInstallation}: ${r.rate.toFixed(1)}/s (${(r.rate / bare.rate).toFixed(2)}x), ${r.cpuMsPerDecision.toFixed(2)} ms CPU, p99 ${percentile(r.latencies, 99).toFixed(0)} ms`,
    );
  }
}
