// Runs `governor serve` as a child process (the real entry point) and tells when it is listening, for the demo and crash tests.
import { type ChildProcess, spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../bin/governor.js", import.meta.url));

/** A fresh RSA key pair, as GitHub generates for an app: the app signs its JWTs with the private key. */
export function generateAppKey(): string {
  const { privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  return privateKey;
}

export interface AppProcessOptions {
  appId: number;
  privateKey: string;
  secret: string;
  /** host:port of the GitHub API (the simulator). */
  gheHost: string;
  databasePath: string;
  port?: number;
  extraEnv?: Record<string, string>;
  /** Receives the child's stderr lines (JSON logs). */
  onLog?: (line: string) => void;
}

export interface AppProcess {
  url: string;
  webhookUrl: string;
  child: ChildProcess;
  /** Resolves with the exit code or signal when the process ends. */
  exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

export class AppProcessError extends Error {
  override name = "AppProcessError";
}

export function startAppProcess(opts: AppProcessOptions): Promise<AppProcess> {
  // GOVERNOR_CPU_PROF_DIR: a CPU profile of the child (`node --cpu-prof`, which NODE_OPTIONS does not allow), for profiling under the bench.
  const profile = process.env.GOVERNOR_CPU_PROF_DIR ? ["--cpu-prof", "--cpu-prof-dir", process.env.GOVERNOR_CPU_PROF_DIR] : [];
  const child = spawn(process.execPath, [...profile, BIN, "serve", "--host", "127.0.0.1", "--port", String(opts.port ?? 0)], {
    env: {
      ...process.env,
      APP_ID: String(opts.appId),
      PRIVATE_KEY: opts.privateKey,
      WEBHOOK_SECRET: opts.secret,
      GHE_HOST: opts.gheHost,
      GHE_PROTOCOL: "http",
      DATABASE_PATH: opts.databasePath,
      LOG_LEVEL: "warn",
      ...opts.extraEnv,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown")));
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
    for (const line of chunk.split("\n")) if (line.trim()) opts.onLog?.(line);
  });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new AppProcessError(`governor serve did not start within 30 s; stderr:\n${stderr}`));
    }, 30_000);
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      const match = /listening on (\S+) \(webhooks at (\S+);/.exec(out);
      if (match?.[1] && match[2]) {
        clearTimeout(timer);
        resolve({
          url: match[1],
          webhookUrl: match[2],
          child,
          exited,
          async stop(signal: NodeJS.Signals = "SIGTERM") {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new AppProcessError(`governor serve exited (${code}) before listening; stderr:\n${stderr}`));
    });
  });
}
