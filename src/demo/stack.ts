// The simulator and Governor in one process, wired over real HTTP on loopback: for end-to-end tests and benchmarks.
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_CONCURRENCY, DEFAULT_PER_INSTALLATION, type ServerConfig } from "../server/config.js";
import { type RunningGovernor, startGovernor } from "../server/start.js";
import { loadScenario, type Simulator, startSimulator } from "../sim/index.js";
import { generateAppKey } from "./app-process.js";

export const DEMO_SCENARIO = fileURLToPath(new URL("../../fixtures/sim/acme.json", import.meta.url));

export interface Stack {
  sim: Simulator;
  governor: RunningGovernor;
  secret: string;
  databasePath: string;
  close(): Promise<void>;
}

type Log = Parameters<typeof startGovernor>[1];

/** `log`: true prints the server's log lines to stderr; a function receives them. */
export async function startStack(
  opts: { scenario?: string; databasePath?: string; tune?: Partial<ServerConfig>; timeoutMs?: number; log?: boolean | Log } = {},
): Promise<Stack> {
  const sim = await startSimulator();
  const scenario = loadScenario(sim, opts.scenario ?? DEMO_SCENARIO);
  const secret = randomBytes(16).toString("hex");
  const databasePath = opts.databasePath ?? join(mkdtempSync(join(tmpdir(), "governor-stack-")), "governor.db");
  const governor = await startGovernor(
    {
      appId: scenario.app?.id ?? 1,
      privateKey: generateAppKey(),
      secret,
      webhookPath: "/api/github/webhooks",
      baseUrl: `${sim.url}/api/v3`,
      logLevel: "fatal",
      databasePath,
      port: 0,
      host: "127.0.0.1",
      // The server's own defaults, so what the tests and the bench exercise is what `governor serve` runs.
      concurrency: DEFAULT_CONCURRENCY,
      perInstallation: DEFAULT_PER_INSTALLATION,
      ...(opts.timeoutMs !== undefined ? { requestTimeoutMs: opts.timeoutMs } : {}),
      ...opts.tune,
    },
    typeof opts.log === "function" ? opts.log : opts.log ? (level, msg, extra) => console.error(level, msg, extra ?? "") : () => undefined,
  );
  sim.target(governor.webhookUrl, secret);
  return {
    sim,
    governor,
    secret,
    databasePath,
    async close() {
      await governor.close();
      await sim.close();
    },
  };
}
