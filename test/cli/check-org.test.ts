// `governor check` with GITHUB_TOKEN reads the org policy from the org's .github repository, as the app does:
// here GitHub's contents API is a local HTTP server (GITHUB_API_URL, as Actions sets it) and the real bin asks it.
import { spawn } from "node:child_process";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { DecisionSchema } from "../../src/policy/decision.js";
import { BIN } from "../helpers/cli.js";
import { fixturePolicy } from "../helpers/policy.js";
import { gitRepo } from "./check-repo.js";

let server: Server | undefined;
afterEach(() => new Promise<void>((done) => (server ? server.close(() => done()) : done())));

/** Serves `GET /repos/acme/.github/contents/governance.yml` with `status` (and the org policy when 200). */
async function fakeGitHub(status: number, seen: IncomingMessage[]): Promise<string> {
  server = createServer((req, res) => {
    seen.push(req);
    if (status === 200 && req.url?.startsWith("/repos/acme/.github/contents/governance.yml")) {
      const text = fixturePolicy("org.yml");
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ type: "file", encoding: "base64", size: text.length, sha: "f".repeat(40), content: Buffer.from(text).toString("base64") }));
      return;
    }
    res.writeHead(status === 200 ? 404 : status, { "content-type": "application/json" });
    res.end(JSON.stringify({ message: "Not Found" }));
  });
  await new Promise<void>((done) => server!.listen(0, "127.0.0.1", done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function runAsync(args: string[], cwd: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

function orgOnlyRepo() {
  const repo = gitRepo({ "README.md": "hi\n" });
  repo.git("checkout", "-qb", "copilot/env");
  repo.commit("env", { "config/.env": "SECRET=1\n" });
  return repo;
}

const ARGS = ["check", "--base", "main", "--author", "Copilot", "--repo", "acme/webapp", "--format", "json", "--now", "2026-11-24T12:00:00Z"];

describe("governor check: the org policy fetched with GITHUB_TOKEN", () => {
  it("denies by the org's policy read from acme/.github with the token", async () => {
    const seen: IncomingMessage[] = [];
    const url = await fakeGitHub(200, seen);
    const r = await runAsync(ARGS, orgOnlyRepo().dir, { GITHUB_TOKEN: "ghs_test", GITHUB_API_URL: url });
    expect(r.code).toBe(4);
    const out = JSON.parse(r.stdout) as { decision: unknown; policies: { org: unknown } };
    expect(DecisionSchema.parse(out.decision).rules.map((x) => x.id)).toContain("org:no-secrets");
    expect(out.policies.org).toEqual({ path: "governance.yml", repo: "acme/.github", sha: "f".repeat(40) });
    expect(seen[0]?.headers.authorization).toBe("token ghs_test");
  });

  it("says so when the org has no policy, and is then not governed", async () => {
    const url = await fakeGitHub(404, []);
    const r = await runAsync(ARGS, orgOnlyRepo().dir, { GITHUB_TOKEN: "ghs_test", GITHUB_API_URL: url });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { caveats: Array<{ id: string }> };
    expect(out.caveats.map((c) => c.id)).toEqual(["org_policy_absent", "no_policy"]);
  });

  it("stops with exit 2 rather than answer without the org policy when GitHub refuses the token", async () => {
    const url = await fakeGitHub(401, []);
    const r = await runAsync(ARGS, orgOnlyRepo().dir, { GITHUB_TOKEN: "bad", GITHUB_API_URL: url });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("cannot read the org policy acme/.github:governance.yml: GitHub answered 401");
  });
});
