// Reads a change's files for `governor check`: from git (`--base REF`) or from a list (`--files-from`).
import { execFileSync } from "node:child_process";
import type { ChangedFile } from "../policy/change.js";
import { UsageError } from "./context.js";

/** The list of changed files could not be read; `source` says from where (`--base main`, a file name). */
export class ChangedFilesError extends UsageError {
  override name = "ChangedFilesError";
  constructor(message: string, readonly source: string) {
    super(`${source}: ${message}`);
  }
}

const STATUS: Record<string, ChangedFile["status"]> = { A: "added", D: "removed", M: "modified", R: "renamed", C: "copied", T: "changed", U: "changed" };

/** The files of `base...HEAD`, renames detected, line counts from numstat (binary files count 0 lines). */
export function filesFromGit(base: string, cwd: string): ChangedFile[] {
  const git = (args: string[]) => {
    try {
      return execFileSync("git", args, { cwd, encoding: "utf8", maxBuffer: 256 * 1024 * 1024, stdio: ["ignore", "pipe", "pipe"] });
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr?.trim();
      throw new ChangedFilesError(`git ${args.join(" ")} failed${stderr ? `: ${stderr}` : ""}`, `--base ${base}`);
    }
  };
  const range = `${base}...HEAD`;
  const statuses = git(["diff", "-z", "--name-status", "-M", range, "--"]).split("\0");
  const numstat = git(["diff", "-z", "--numstat", "-M", range, "--"]).split("\0");

  const counts = new Map<string, { additions: number; deletions: number }>();
  for (let i = 0; i < numstat.length; i++) {
    const entry = numstat[i];
    if (!entry) continue;
    const [add, del, path] = entry.split("\t");
    const lines = { additions: toCount(add), deletions: toCount(del) };
    if (path === "") {
      // -z renames: "add\tdel\t\0old\0new\0"
      const newPath = numstat[i + 2];
      if (newPath) counts.set(newPath, lines);
      i += 2;
    } else if (path !== undefined) {
      counts.set(path, lines);
    }
  }

  const files: ChangedFile[] = [];
  for (let i = 0; i < statuses.length; i++) {
    const code = statuses[i];
    if (!code) continue;
    const kind = STATUS[code[0] ?? ""] ?? "modified";
    if (kind === "renamed" || kind === "copied") {
      const from = statuses[i + 1] ?? "";
      const to = statuses[i + 2] ?? "";
      files.push({ path: to, previous_path: from, status: kind, ...(counts.get(to) ?? { additions: 0, deletions: 0 }) });
      i += 2;
    } else {
      const path = statuses[i + 1] ?? "";
      files.push({ path, status: kind, ...(counts.get(path) ?? { additions: 0, deletions: 0 }) });
      i += 1;
    }
  }
  return files;
}

function toCount(text: string | undefined): number {
  const n = Number(text);
  return Number.isInteger(n) && n >= 0 ? n : 0; // "-" for binary files
}

/** Expands git's rename shorthand `src/{old => new}/x.ts` or `old => new` into both paths. */
function renamePaths(spec: string): { from: string; to: string } | null {
  const brace = /^(.*)\{(.*) => (.*)\}(.*)$/.exec(spec);
  if (brace) {
    const [, pre = "", a = "", b = "", post = ""] = brace;
    const join = (mid: string) => `${pre}${mid}${post}`.replace(/\/\//g, "/");
    return { from: join(a), to: join(b) };
  }
  const plain = /^(.*) => (.*)$/.exec(spec);
  return plain ? { from: plain[1] ?? "", to: plain[2] ?? "" } : null;
}

/**
 * Parses a file list: one path per line, or `git diff --numstat` output, or `git diff --name-status` output.
 * Each line is recognised on its own, so a mix of forms is accepted.
 */
export function parseFileList(text: string, source: string): ChangedFile[] {
  const files: ChangedFile[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trimEnd();
    if (line.trim() === "" || line.startsWith("#")) return;
    const fields = line.split("\t");
    const numstat = /^(\d+|-)\t(\d+|-)\t(.+)$/.exec(line);
    if (numstat) {
      const spec = numstat[3] ?? "";
      const rename = renamePaths(spec);
      const lines = { additions: toCount(numstat[1]), deletions: toCount(numstat[2]) };
      files.push(rename ? { path: rename.to, previous_path: rename.from, status: "renamed", ...lines } : { path: spec, status: "modified", ...lines });
      return;
    }
    const code = fields[0] ?? "";
    if (fields.length >= 2 && /^[ADMRCTU]\d*$/.test(code)) {
      const kind = STATUS[code[0] ?? ""] ?? "modified";
      if ((kind === "renamed" || kind === "copied") && fields.length >= 3) {
        files.push({ path: fields[2] ?? "", previous_path: fields[1] ?? "", status: kind, additions: 0, deletions: 0 });
      } else {
        files.push({ path: fields[1] ?? "", status: kind, additions: 0, deletions: 0 });
      }
      return;
    }
    if (line.includes("\t")) throw new ChangedFilesError(`line ${index + 1}: not a path, numstat or name-status line: ${JSON.stringify(line)}`, source);
    files.push({ path: line.trim().replace(/^\.\//, ""), status: "modified", additions: 0, deletions: 0 });
  });
  return files;
}
