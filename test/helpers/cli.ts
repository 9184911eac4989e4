// Runs the `governor` command in-process (fast) or as the real bin in a child process (the true entry point).
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { CliContext } from "../../src/cli/context.js";
import { main } from "../../src/cli/main.js";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const BIN = join(ROOT, "bin/governor.js");

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function run(args: string[], opts: { cwd: string; env?: Record<string, string> }): Promise<RunResult> {
  let stdout = "";
  let stderr = "";
  let code = 0;
  const ctx: CliContext = {
    out: (t) => void (stdout += t.endsWith("\n") ? t : `${t}\n`),
    err: (t) => void (stderr += t.endsWith("\n") ? t : `${t}\n`),
    cwd: opts.cwd,
    env: { ...opts.env },
    exit: (c) => void (code = Math.max(code, c)),
  };
  const returned = await main(["node", "governor", ...args], ctx);
  return { code: Math.max(code, returned), stdout, stderr };
}

export function runBin(args: string[], opts: { cwd: string; input?: string; env?: Record<string, string> }): RunResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd,
    input: opts.input ?? "",
    encoding: "utf8",
    env: { ...process.env, ...opts.env },
    timeout: 60_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function tempDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "governor-test-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}
