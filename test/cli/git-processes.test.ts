// `governor check --files-from` outside a repository needs no git: starting git only to hear "not a git repository"
// was a large part of its run. Observed through the real bin, with a `git` first on PATH that logs each call.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runBin, tempDir } from "../helpers/cli.js";
import { fixturePolicy } from "../helpers/policy.js";

const REAL_GIT = spawnSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).stdout.trim();

/** Runs `governor check` in `cwd` with a logging git on PATH; returns the git calls it made. */
function gitCallsOfCheck(cwd: string): string[] {
  const bin = tempDir();
  const log = join(bin, "git.log");
  writeFileSync(join(bin, "git"), `#!/bin/sh\necho "$*" >> "${log}"\nexec "${REAL_GIT}" "$@"\n`);
  chmodSync(join(bin, "git"), 0o755);
  const env = { PATH: `${bin}:${process.env["PATH"] ?? ""}`, GITHUB_REPOSITORY: "" };
  const r = runBin(["check", "--files-from", "files.txt", "--branch", "copilot/x", "--author", "Copilot", "--author-type", "Bot"], { cwd, env });
  expect(r.code, r.stderr).toBe(3);
  return existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [];
}

describe("git processes of check --files-from", () => {
  const files = { ".governance.yml": fixturePolicy("webapp-monorepo.yml"), "files.txt": "docs/a.md\napps/web/src/x.ts\nREADME.md\n" };

  it("outside a git repository, starts no git process", () => {
    expect(gitCallsOfCheck(tempDir(files))).toEqual([]);
  });

  it("inside a git repository, still asks git for the origin (so the recorder sees git calls)", () => {
    const dir = tempDir(files);
    expect(spawnSync(REAL_GIT, ["init", "-q"], { cwd: dir }).status).toBe(0);
    expect(gitCallsOfCheck(dir)).toContain("remote get-url origin");
  });
});
