// `governor demo`, the README's first command, through the real bin: the story, the audit trail it leaves, and
// `--serve` answering a webhook the user sends by hand.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { sign } from "@octokit/webhooks-methods";
import { beforeAll, describe, expect, it } from "vitest";
import { BIN, runBin, tempDir } from "../helpers/cli.js";

describe("governor demo", () => {
  // One demo run, as the README's first command makes it (no --db, from a git checkout), read by the tests below: a
  // demo run takes seconds, and each of these is a property of the same run.
  let first: { dir: string; tmp: string; stdout: string };
  beforeAll(() => {
    const dir = tempDir();
    const tmp = tempDir();
    execFileSync("git", ["init", "-q"], { cwd: dir });
    const demo = runBin(["demo"], { cwd: dir, env: { TMPDIR: tmp } });
    expect(demo.code, demo.stderr).toBe(0);
    first = { dir, tmp, stdout: demo.stdout };
  }, 60_000);

  it("plays the five scenes against the simulator and the real app, and leaves a verifiable audit trail", () => {
    expect(first.stdout).toContain('check "governance": success · Allowed: 1 file within policy');
    expect(first.stdout).toContain('check "governance": action_required · Needs approval: 0 of 1 gate met');
    expect(first.stdout).toContain("reviewers requested: @acme/dba");
    expect(first.stdout).toContain('check "governance": failure · Denied: repo:billing-freeze');
    expect(first.stdout).toContain('check "governance": neutral · Not governed: the author is not an agent');
    expect(first.stdout).toContain("chain intact: 6 rows verified");
    const replay = runBin(["audit", "replay", "--all", "--db", join(first.tmp, "governor-demo.db")], { cwd: first.dir });
    expect(replay.code, replay.stdout + replay.stderr).toBe(0);
  });

  it("leaves no untracked files in the folder it runs from (its database goes to the temporary folder)", () => {
    expect(first.stdout).toContain(`The database is ${join(first.tmp, "governor-demo.db")}.`);
    expect(execFileSync("git", ["status", "--porcelain", "--untracked-files=all"], { cwd: first.dir, encoding: "utf8" })).toBe("");
    expect(existsSync(join(first.tmp, "governor-demo.db"))).toBe(true);
  });

  it("replaces its own earlier demo database without asking", () => {
    const again = runBin(["demo"], { cwd: tempDir(), env: { TMPDIR: first.tmp } });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`The database is ${join(first.tmp, "governor-demo.db")}.`);
    expect(again.stdout).toContain("chain intact: 6 rows verified");
  }, 60_000);

  it("refuses to overwrite a file that is not a demo database, unless --force", () => {
    const notes = "my notes, not a database\n";
    const dir = tempDir({ "notes.db": notes });
    const refused = runBin(["demo", "--db", "notes.db"], { cwd: dir });
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe(
      `governor demo: ${join(dir, "notes.db")} exists and is not a Governor audit database, not a demo database: refusing to overwrite it (pass --force to replace it, or choose another --db)`,
    );
    expect(readFileSync(join(dir, "notes.db"), "utf8")).toBe(notes);
    const forced = runBin(["demo", "--db", "notes.db", "--force"], { cwd: dir });
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain("chain intact: 6 rows verified");
  }, 60_000);

  it("with --serve keeps running, and evaluates a webhook signed and sent as it explains", async () => {
    const dir = tempDir();
    const child = spawn(process.execPath, [BIN, "demo", "--serve", "--db", join(dir, "demo.db")], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      let out = "";
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no serving instructions in time:\n${out}`)), 45_000);
        child.stdout.on("data", (chunk: Buffer) => {
          out += chunk.toString();
          if (/^and the audit trail: /m.test(out)) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      const field = (name: string) => new RegExp(`^${name}: (\\S+)`, "m").exec(out)?.[1] ?? "";
      const body = readFileSync(field("payload file"), "utf8");
      const headSha = (JSON.parse(body) as { pull_request: { head: { sha: string } } }).pull_request.head.sha;
      const sent = await fetch(field("webhook url"), {
        method: "POST",
        body,
        headers: {
          "content-type": "application/json",
          "x-github-event": "pull_request",
          "x-github-delivery": "by-hand-1",
          "x-hub-signature-256": await sign(field("webhook secret"), body),
        },
      });
      expect(sent.status).toBe(202);

      let check: { status: string; conclusion: string; output: { title: string } } | undefined;
      for (let i = 0; i < 100 && check?.status !== "completed"; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const runs = (await (
          await fetch(`${field("github api")}/repos/acme/webapp/commits/${headSha}/check-runs`, { headers: { authorization: "token demo" } })
        ).json()) as { check_runs: Array<NonNullable<typeof check>> };
        check = runs.check_runs[0];
      }
      expect(check).toMatchObject({ status: "completed", conclusion: "failure", output: { title: "Denied: repo:billing-freeze" } });
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  }, 90_000);
});
