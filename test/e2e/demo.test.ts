// `governor demo`, the README's first command, through the real bin: the story, the audit trail it leaves, and
// `--serve` answering a webhook the user sends by hand.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sign } from "@octokit/webhooks-methods";
import { describe, expect, it } from "vitest";
import { BIN, runBin, tempDir } from "../helpers/cli.js";

describe("governor demo", () => {
  it("plays the five scenes against the simulator and the real app, and leaves a verifiable audit trail", () => {
    const dir = tempDir();
    const demo = runBin(["demo", "--db", "demo.db"], { cwd: dir });
    expect(demo.code, demo.stderr).toBe(0);
    expect(demo.stdout).toContain('check "governance": success · Allowed: 1 file within policy');
    expect(demo.stdout).toContain('check "governance": action_required · Needs approval: 0 of 1 gate met');
    expect(demo.stdout).toContain("reviewers requested: @acme/dba");
    expect(demo.stdout).toContain('check "governance": failure · Denied: repo:billing-freeze');
    expect(demo.stdout).toContain('check "governance": neutral · Not governed: the author is not an agent');
    expect(demo.stdout).toContain("chain intact: 6 rows verified");
    const replay = runBin(["audit", "replay", "--all", "--db", "demo.db"], { cwd: dir });
    expect(replay.code, replay.stdout + replay.stderr).toBe(0);
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
        method: "POST", body,
        headers: { "content-type": "application/json", "x-github-event": "pull_request", "x-github-delivery": "by-hand-1", "x-hub-signature-256": await sign(field("webhook secret"), body) },
      });
      expect(sent.status).toBe(202);

      let check: { status: string; conclusion: string; output: { title: string } } | undefined;
      for (let i = 0; i < 100 && check?.status !== "completed"; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const runs = await (await fetch(`${field("github api")}/repos/acme/webapp/commits/${headSha}/check-runs`, { headers: { authorization: "token demo" } })).json() as { check_runs: Array<NonNullable<typeof check>> };
        check = runs.check_runs[0];
      }
      expect(check).toMatchObject({ status: "completed", conclusion: "failure", output: { title: "Denied: repo:billing-freeze" } });
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  }, 90_000);
});
