// `governor serve` through the real bin: it listens before it talks to GitHub, and every configuration mistake is one
// line on stderr and exit code 2, without a stack trace.
import { type ChildProcess, spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { generateAppKey } from "../../src/demo/app-process.js";
import { BIN, runBin, tempDir } from "../helpers/cli.js";

const KEY = generateAppKey();
const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

/** A "GitHub" that accepts connections and never answers. */
async function silentGitHub(): Promise<{ host: string; connections: () => number }> {
  const sockets = new Set<Socket>();
  let count = 0;
  const server: Server = createServer((socket) => {
    count++;
    sockets.add(socket);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  cleanup.push(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const address = server.address() as { port: number };
  return { host: `127.0.0.1:${address.port}`, connections: () => count };
}

function env(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    APP_ID: "1",
    PRIVATE_KEY: KEY,
    WEBHOOK_SECRET: "s",
    DATABASE_PATH: join(dir, "governor.db"),
    GHE_HOST: "127.0.0.1:1",
    GHE_PROTOCOL: "http",
    LOG_LEVEL: "warn",
    ...extra,
  };
}

function serve(
  dir: string,
  extra: Record<string, string> = {},
  args: string[] = ["--host", "127.0.0.1", "--port", "0"],
): { child: ChildProcess; url: Promise<string>; stderr: () => string } {
  const child = spawn(process.execPath, [BIN, "serve", ...args], { cwd: dir, env: { ...process.env, ...env(dir, extra) }, stdio: ["ignore", "pipe", "pipe"] });
  cleanup.push(() => child.kill("SIGKILL"));
  let err = "";
  child.stderr?.setEncoding("utf8").on("data", (c: string) => (err += c));
  const url = new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.setEncoding("utf8").on("data", (c: string) => {
      out += c;
      const m = /listening on (\S+) /.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.once("exit", (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
  return { child, url, stderr: () => err };
}

/** Runs `governor serve` expecting a configuration error: its stderr, which must be one line and no stack. */
function configError(extra: Record<string, string>, args: string[] = ["--host", "127.0.0.1", "--port", "0"], dir = tempDir()): string {
  const r = runBin(["serve", ...args], { cwd: dir, env: env(dir, extra) });
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.trim().split("\n");
  expect(lines, r.stderr).toHaveLength(1);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  return lines[0] ?? "";
}

describe("governor serve: start", () => {
  it("answers /healthz while GitHub accepts connections and never replies", async () => {
    const github = await silentGitHub();
    const dir = tempDir();
    const app = serve(dir, { GHE_HOST: github.host, GITHUB_TIMEOUT_MS: "60000" });
    const url = await app.url;
    const health = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) });
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "ok" });
    // GitHub was asked for the app's identity, and has still not answered.
    for (let i = 0; i < 50 && github.connections() === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(github.connections()).toBeGreaterThan(0);
  });
});

describe("governor serve: configuration mistakes are one line and exit 2", () => {
  it("a port out of range", () => {
    expect(configError({ PORT: "70000" }, ["--host", "127.0.0.1"])).toContain("PORT must be a port number, 0 to 65535");
  });

  it("a port already in use", async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", () => r()));
    cleanup.push(() => busy.close());
    const port = String((busy.address() as { port: number }).port);
    expect(configError({}, ["--host", "127.0.0.1", "--port", port])).toContain(`port ${port} is already in use on 127.0.0.1`);
  });

  it("a database path whose folder is missing, named", () => {
    const dir = tempDir();
    const path = join(dir, "no-such-folder", "governor.db");
    expect(configError({ DATABASE_PATH: path }, undefined, dir)).toContain(`DATABASE_PATH ${path}: the folder ${join(dir, "no-such-folder")} does not exist`);
  });

  it("a database path that is not a database, named", () => {
    const dir = tempDir({ "notes.db": "these are my notes, not SQLite\n".repeat(200) });
    expect(configError({ DATABASE_PATH: join(dir, "notes.db") }, undefined, dir)).toMatch(
      new RegExp(`DATABASE_PATH ${join(dir, "notes.db")}: .*not a database`),
    );
  });

  it("a private key that is not RSA", () => {
    const { privateKey } = generateKeyPairSync("ec", {
      namedCurve: "P-256",
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    expect(configError({ PRIVATE_KEY: privateKey })).toContain("the private key is an EC key, not RSA");
  });

  it("an encrypted private key", () => {
    const { privateKey } = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      privateKeyEncoding: { type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "secret" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    expect(configError({ PRIVATE_KEY: privateKey })).toContain("the private key is encrypted");
  });

  it("GHE_HOST given as a URL", () => {
    expect(configError({ GHE_HOST: "https://github.example.com/" })).toContain("GHE_HOST is a host name (and port), not a URL: write github.example.com");
  });

  it("a GHE_HOST that DNS does not know, reported as a DNS failure", () => {
    expect(configError({ GHE_HOST: "github.no-such-host.invalid" })).toContain("DNS lookup failed for github.no-such-host.invalid (ENOTFOUND)");
  });

  it("missing variables, all named on one line", () => {
    const dir = tempDir();
    const r = runBin(["serve"], { cwd: dir, env: { APP_ID: "", PRIVATE_KEY: "", WEBHOOK_SECRET: "" } });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/APP_ID is required; WEBHOOK_SECRET is required/)]);
  });
});
