// A real PostgreSQL server for the test run: started once (vitest globalSetup) on a loopback port in a temporary
// directory, stopped after the run. Each test file takes a database of its own. When the server cannot be started the
// tests that need it fail with the reason; they are never skipped.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { inject } from "vitest";
import type { TestProject } from "vitest/node";
import { shared } from "./shared-setup.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** `postgres://…/` of the run's server (no database name), or the reason it could not be started. */
    postgres: { url: string } | { error: string };
  }
}

const USER = "governor";

/** The server binaries: PG_BIN, else the newest Debian install, else whatever is on the PATH. */
function binDir(): string {
  if (process.env["PG_BIN"]) return process.env["PG_BIN"];
  const root = "/usr/lib/postgresql";
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, "bin", "initdb")))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(root, versions[0], "bin");
  }
  const found = spawnSync("sh", ["-c", "command -v initdb"], { encoding: "utf8" }).stdout.trim();
  if (found) return found.replace(/\/initdb$/, "");
  throw new Error("no PostgreSQL server binaries (initdb) found: install Debian's postgresql package (apt-get install -y postgresql) or set PG_BIN");
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface PostgresServer {
  url: string;
  stop(): void;
}

/**
 * initdb + pg_ctl start in a fresh directory. PostgreSQL refuses to run as root, so as root the server runs as the
 * `postgres` user (Debian's package creates it) and the directory is handed to that user.
 */
export async function startPostgres(opts: { durable?: boolean } = {}): Promise<PostgresServer> {
  const bin = binDir();
  const dir = mkdtempSync(join(tmpdir(), "governor-pg-"));
  const data = join(dir, "data");
  const log = join(dir, "server.log");
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]) => {
    const argv = asRoot ? ["-u", "postgres", "--", join(bin, cmd), ...args] : args;
    const result = spawnSync(asRoot ? "runuser" : join(bin, cmd), argv, { encoding: "utf8", timeout: 60_000 });
    if (result.status !== 0) {
      const serverLog = existsSync(log) ? readFileSync(log, "utf8").slice(-2000) : "";
      throw new Error(
        `${cmd} failed (${result.error?.message ?? `exit ${result.status}`}): ${(result.stderr || result.stdout).slice(-2000)}${serverLog ? `\nserver log:\n${serverLog}` : ""}`,
      );
    }
  };
  if (asRoot) {
    execFileSync("chown", ["postgres", dir]);
    chmodSync(dir, 0o700);
  }
  const port = await freePort();
  try {
    run("initdb", ["-D", data, "-U", USER, "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"]);
    // Tests want a fast server, not a durable one (a benchmark asks for `durable`: PostgreSQL's defaults, as SQLite's
    // synchronous=FULL is timed beside it). Sockets stay in the temp dir, TCP on loopback only.
    const fast = opts.durable ? "" : " -c fsync=off -c synchronous_commit=off -c full_page_writes=off";
    run("pg_ctl", [
      "-D",
      data,
      "-l",
      log,
      "-w",
      "-t",
      "60",
      "-o",
      `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c max_connections=300${fast}`,
      "start",
    ]);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    process.off("exit", stop);
    try {
      run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  // pg_ctl leaves the server running on its own: a run that ends without its teardown must not leave it behind.
  process.on("exit", stop);
  return { url: `postgres://${USER}@127.0.0.1:${port}/`, stop };
}

/** vitest globalSetup: one server for the whole run, its address (or why there is none) handed to every test file. */
export default async function setup(project: TestProject): Promise<() => void> {
  // One server for the root config and both projects (vitest calls a global setup for each).
  const { value, teardown } = await shared(
    "postgres",
    async (): Promise<{ server: PostgresServer } | { error: string }> => {
      try {
        return { server: await startPostgres() };
      } catch (error) {
        return { error: error instanceof Error ? error.message : String(error) };
      }
    },
    (started) => ("server" in started ? started.server.stop() : undefined),
  );
  project.provide("postgres", "server" in value ? { url: value.server.url } : value);
  return teardown;
}

let counter = 0;

/**
 * A new, empty database on the run's server, for one test file (or one test). Throws, failing the test, when the
 * server could not be started.
 */
export async function freshDatabase(prefix = "t"): Promise<string> {
  const server = inject("postgres");
  if ("error" in server) throw new Error(`these tests need a PostgreSQL server and none could be started: ${server.error}`);
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${++counter}`.toLowerCase().replace(/[^a-z0-9_]/g, "_");
  const admin = new pg.Client({ connectionString: `${server.url}postgres` });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return `${server.url}${name}`;
}
