// Start-up costs a user feels: `governor check` on a 3-file diff beside `node -e 0`, and `governor serve`'s time to
// its first /healthz answer, while GitHub accepts connections and never replies, beside a bare Node HTTP server's.
// GOVERNOR_BENCH_BIN measures another build of the bin (e.g. an older checkout's) in the same way.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateAppKey } from "../src/demo/app-process.js";
import type { BenchResult } from "./result.js";

const BIN = process.env["GOVERNOR_BENCH_BIN"] ?? fileURLToPath(new URL("../bin/governor.js", import.meta.url));
const POLICY = fileURLToPath(new URL("../fixtures/policies/webapp-monorepo.yml", import.meta.url));
const RUNS = 15;
const SERVE_RUNS = Number(process.env["GOVERNOR_BENCH_SERVE_RUNS"] ?? 5);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

function timeProcess(args: string[], cwd: string): number {
  const started = performance.now();
  const r = spawnSync(process.execPath, args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
  if (r.status !== 0 && r.status !== 3 && r.status !== 4) throw new Error(`${args.join(" ")} exited ${r.status}: ${r.stderr.toString("utf8")}`);
  return performance.now() - started;
}

/** Milliseconds from spawning `args` until GET url/healthz answers 200 (the URL read from its first output line). */
async function timeToHealthz(args: string[], env: Record<string, string>, cwd: string): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "ignore"] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error("no listening line within 90 s")), 90_000);
      child.stdout.setEncoding("utf8").on("data", (c: string) => {
        out += c;
        const m = /listening on (\S+)/.exec(out);
        if (m?.[1]) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
    });
    for (;;) {
      const ok = await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return performance.now() - started;
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    child.kill("SIGKILL");
  }
}

export async function benchStartup(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), "governor-bench-startup-"));
  writeFileSync(join(dir, ".governance.yml"), readFileSync(POLICY, "utf8"));
  writeFileSync(join(dir, "files.txt"), "docs/guide.md\napps/web/src/page.tsx\nREADME.md\n");
  const check = [BIN, "check", "--files-from", "files.txt", "--author", "Copilot", "--author-type", "Bot", "--branch", "copilot/x"];
  const checkMs: number[] = [];
  const nodeMs: number[] = [];
  timeProcess(check, dir); // warm the file cache
  for (let i = 0; i < RUNS; i++) {
    nodeMs.push(timeProcess(["-e", "0"], dir));
    checkMs.push(timeProcess(check, dir));
  }

  // A GitHub that accepts connections and never replies.
  const sockets = new Set<Socket>();
  const silent = createServer((s) => void sockets.add(s));
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
  const env = {
    APP_ID: "1",
    PRIVATE_KEY: generateAppKey(),
    WEBHOOK_SECRET: "s",
    GHE_HOST: `127.0.0.1:${(silent.address() as { port: number }).port}`,
    GHE_PROTOCOL: "http",
    LOG_LEVEL: "fatal",
  };
  const bare =
    "require('node:http').createServer((q, s) => s.end('ok')).listen(0, '127.0.0.1', function () { console.log('listening on http://127.0.0.1:' + this.address().port + ' ') })";
  const serveMs: number[] = [];
  const bareMs: number[] = [];
  for (let i = 0; i < SERVE_RUNS; i++) {
    bareMs.push(await timeToHealthz(["-e", bare], {}, dir));
    serveMs.push(await timeToHealthz([BIN, "serve", "--host", "127.0.0.1", "--port", "0"], { ...env, DATABASE_PATH: join(dir, `serve-${i}.db`) }, dir));
  }
  for (const s of sockets) s.destroy();
  silent.close();

  const c = median(checkMs),
    n = median(nodeMs),
    s = median(serveMs),
    b = median(bareMs);
  return [
    {
      name: "governor check, 3-file diff (median of 15 runs)",
      value: c,
      unit: "ms",
      baseline: { name: "node -e 0", value: n },
      ratio: n / c,
      note: `${(c / n).toFixed(2)}x the time of node -e 0 (target: at most 2.5x)`,
    },
    {
      name: `governor serve: start to first /healthz, GitHub never answers (median of ${SERVE_RUNS})`,
      value: s,
      unit: "ms",
      baseline: { name: "bare node http server", value: b },
      ratio: b / s,
      note: "target: about 1 s",
    },
  ];
}
