// The package as a user gets it: `npm pack`, then a production install (`--omit=dev`) of the tarball into an empty
// folder, then the commands run from there. The Dockerfile runs the same pack-and-install steps.
//
// One step differs from the Dockerfile's: npm's install scripts are skipped, and better-sqlite3's native addon is
// copied from the checkout (same version, same Node), because compiling SQLite takes minutes on this machine.
// `.ci/run` does the full install, scripts and all, once per CI run.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { generateAppKey } from "../../src/demo/app-process.js";
import { ROOT, tempDir } from "../helpers/cli.js";
import { fixturePolicy } from "../helpers/policy.js";

const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
let app: string;
let bin: string;
let work: string;

const npm = (args: string[], cwd: string) =>
  execFileSync("npm", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, npm_config_update_notifier: "false" } });
const governor = (args: string[], input = "") => spawnSync(bin, args, { cwd: work, encoding: "utf8", input, timeout: 60_000 });

beforeAll(() => {
  const packs = tempDir();
  // The test setup has just built dist/; packing runs no scripts, so it packs exactly that build.
  const tarball = join(packs, npm(["pack", "--ignore-scripts", "--silent", "--pack-destination", packs], ROOT).trim().split("\n").pop() ?? "");
  app = tempDir({ "package.json": JSON.stringify({ private: true }) });
  npm(["install", "--omit=dev", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund", tarball], app);
  const sqlite = (dir: string) => (JSON.parse(readFileSync(join(dir, "node_modules/better-sqlite3/package.json"), "utf8")) as { version: string }).version;
  expect(sqlite(app)).toBe(sqlite(ROOT));
  cpSync(join(ROOT, "node_modules/better-sqlite3/build"), join(app, "node_modules/better-sqlite3/build"), { recursive: true });
  bin = join(app, "node_modules/.bin/governor");
  work = tempDir({ ".governance.yml": fixturePolicy("webapp-monorepo.yml"), "files.txt": "docs/a.md\napps/web/src/x.ts\nREADME.md\n" });
}, 120_000);

describe("the packed package, installed for production", () => {
  it("holds no development-only dependency", () => {
    for (const dev of ["tsx", "typescript", "vitest", "@octokit/openapi", "@octokit/webhooks-examples", "nock"]) {
      expect([dev, existsSync(join(app, "node_modules", dev))]).toEqual([dev, false]);
    }
  });

  it("governor --version prints the package's version", () => {
    const r = governor(["--version"]);
    expect([r.status, r.stdout.trim()]).toEqual([0, VERSION]);
  });

  it("governor validate checks the policy", () => {
    const r = governor(["validate"]);
    expect([r.status, r.stdout]).toEqual([0, ".governance.yml: valid (6 rules, 8 classes)\n"]);
  });

  it("governor check decides a change offline", () => {
    const r = governor(["check", "--files-from", "files.txt", "--author", "Copilot", "--author-type", "Bot", "--branch", "copilot/x", "--json"]);
    expect(r.status, r.stderr).toBeLessThan(5);
    expect(JSON.parse(r.stdout)).toMatchObject({ schema: "governor.decision/v2", agent: { name: "copilot" } });
  });

  it("governor serve --help describes the server", () => {
    const r = governor(["serve", "--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("run the GitHub App");
  });

  it("governor serve starts and answers /healthz", async () => {
    const child = spawn(bin, ["serve", "--host", "127.0.0.1", "--port", "0"], {
      cwd: work,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        APP_ID: "1",
        PRIVATE_KEY: generateAppKey(),
        WEBHOOK_SECRET: "s",
        GHE_HOST: "127.0.0.1:1",
        GHE_PROTOCOL: "http",
        DATABASE_PATH: join(work, "governor.db"),
        LOG_LEVEL: "error",
      },
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.setEncoding("utf8").on("data", (c: string) => {
          out += c;
          const m = /listening on (\S+) /.exec(out);
          if (m?.[1]) resolve(m[1]);
        });
        child.once("exit", (code) => reject(new Error(`serve exited ${code}`)));
      });
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      child.kill("SIGTERM");
    }
  });

  it("governor demo plays the story from the production install", () => {
    const r = governor(["demo", "--db", join(work, "demo.db")]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("chain intact: 6 rows verified");
  });
});
