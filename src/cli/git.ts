// Git access for `governor check`, `explain` and `mcp`: every call through execFile (no shell), every user-given
// revision validated and resolved to a commit id first, and placed after `--end-of-options` so it can never be an option.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { ChangedFile } from "../policy/change.js";
import { parseFileList } from "./changed-files.js";
import { UsageError } from "./context.js";

/** A git command failed, or a revision given by the user is not one git accepts. */
export class GitError extends UsageError {
  override name = "GitError";
  constructor(
    message: string,
    readonly args: readonly string[],
    readonly stderr = "",
  ) {
    super(message);
  }
}

const MAX_OUTPUT = 256 * 1024 * 1024;

export function git(args: readonly string[], cwd: string): string {
  try {
    // LC_ALL=C: git's messages, which errors quote, stay in one language whatever the user's locale.
    return execFileSync("git", args, { cwd, encoding: "utf8", maxBuffer: MAX_OUTPUT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LC_ALL: "C" } });
  } catch (error) {
    const e = error as { stderr?: string; code?: string };
    const stderr = e.stderr?.trim() ?? "";
    if (e.code === "ENOENT") throw new GitError("git is not installed (or not on PATH)", args);
    throw new GitError(`git ${args.join(" ")} failed${stderr ? `: ${stderr}` : ""}`, args, stderr);
  }
}

function gitOk(args: readonly string[], cwd: string): boolean {
  try {
    git(args, cwd);
    return true;
  } catch {
    return false;
  }
}

/** A ref name, or a ref name or commit id followed by `~N` / `^N` steps (`main`, `origin/main`, `HEAD~2`, `abc123^`). */
const REVISION = /^(?<name>[^~^]+)(?<steps>(?:[~^]\d*)*)$/;

/**
 * Resolves a user-given revision to a full commit id, or throws a GitError saying why it is refused: it starts with
 * `-`, its name is not a valid ref name (`git check-ref-format --allow-onelevel`), or it names no commit.
 */
export function resolveCommit(ref: string, cwd: string, option = "--base"): string {
  if (ref === "") throw new GitError(`${option}: a revision is required`, []);
  if (ref.startsWith("-")) throw new GitError(`${option} ${ref}: a revision cannot start with "-"`, []);
  const parsed = REVISION.exec(ref);
  const name = parsed?.groups?.["name"];
  if (!name || /[\0\s]/.test(ref) || !gitOk(["check-ref-format", "--allow-onelevel", name], cwd)) {
    throw new GitError(`${option} ${JSON.stringify(ref)}: not a valid ref name or commit`, []);
  }
  try {
    return git(["rev-parse", "--verify", "--quiet", "--end-of-options", `${ref}^{commit}`], cwd).trim();
  } catch (error) {
    const where = gitOk(["rev-parse", "--is-inside-work-tree"], cwd) ? "" : ` (${cwd} is not inside a git repository)`;
    throw new GitError(`${option} ${ref}: no such commit${where}`, error instanceof GitError ? error.args : [], error instanceof GitError ? error.stderr : "");
  }
}

/** The current branch, or "" when HEAD is detached or this is not a git checkout. */
export function currentBranch(cwd: string): string {
  try {
    const name = git(["rev-parse", "--abbrev-ref", "HEAD"], cwd).trim();
    return name === "HEAD" ? "" : name;
  } catch {
    return "";
  }
}

/** The text of `path` at `commit`, or null when the commit has no such file. A non-file (a directory, a link) is an error. */
export function fileAt(commit: string, path: string, cwd: string): string | null {
  const listing = git(["ls-tree", "-z", "--full-tree", "--end-of-options", commit, "--", path], cwd);
  const record = listing.split("\0").find((r) => r.endsWith(`\t${path}`));
  if (!record) return null;
  const [mode, type, blob] = record.slice(0, record.indexOf("\t")).split(" ");
  if (type !== "blob" || mode === "120000" || !blob) throw new GitError(`${path} at ${commit.slice(0, 12)} is not a regular file`, []);
  return git(["cat-file", "blob", blob], cwd);
}

/** The files of `base...HEAD` as a PR would list them (from the merge base), renames detected, with line counts. */
export function filesSince(base: string, cwd: string): ChangedFile[] {
  const range = `${base}...HEAD`;
  const statuses = git(["diff", "-z", "--no-ext-diff", "--no-textconv", "--name-status", "-M", "--end-of-options", range, "--"], cwd);
  const numstat = git(["diff", "-z", "--no-ext-diff", "--no-textconv", "--numstat", "-M", "--end-of-options", range, "--"], cwd);
  return parseFileList(`${statuses}${numstat}`, `git diff ${range}`);
}

const CO_AUTHOR = /^co-authored-by:\s*(.*?)\s*<([^>]*)>\s*$/gim;

/**
 * Who wrote the commits of `base..HEAD`: each author's name and e-mail, and the names and e-mails of Co-authored-by
 * trailers. On GitHub the app sees author logins where git has names: agents' names equal their logins
 * (`copilot-swe-agent[bot]`, `claude[bot]`), and the e-mails are the same on both sides.
 */
export function commitAuthors(base: string, cwd: string): string[] {
  // %x1e and %x1f cannot occur in names, e-mails or (in practice) messages; records are split on them.
  const log = git(["log", "--no-color", "--no-show-signature", "--format=%x1e%an%x1f%ae%x1f%B", "--end-of-options", `${base}..HEAD`, "--"], cwd);
  const authors = new Set<string>();
  for (const record of log.split("\x1e")) {
    if (!record) continue;
    const [name = "", email = "", body = ""] = record.split("\x1f");
    for (const value of [name.trim(), email.trim()]) if (value) authors.add(value);
    for (const m of body.matchAll(CO_AUTHOR)) {
      for (const value of [m[1]?.trim(), m[2]?.trim()]) if (value) authors.add(value);
    }
  }
  return [...authors].sort();
}

/** `owner/name` from the `origin` remote's URL (https or ssh form), or null. */
/**
 * False only when git would certainly answer "not a git repository" from `cwd`: no GIT_DIR, and neither a `.git`
 * (folder or file) nor a bare repository's HEAD and objects there or in any folder above. git's own search stops
 * sooner (GIT_CEILING_DIRECTORIES, file system boundaries), so this never says no where git would find one.
 */
export function mayBeGitRepository(cwd: string): boolean {
  if (process.env["GIT_DIR"] !== undefined) return true;
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    if (existsSync(join(dir, ".git")) || (existsSync(join(dir, "HEAD")) && existsSync(join(dir, "objects")))) return true;
    if (dirname(dir) === dir) return false;
  }
}

export function originRepo(cwd: string): string | null {
  // Outside any repository there is no origin: starting git to hear so is a large part of a `check --files-from` there.
  if (!mayBeGitRepository(cwd)) return null;
  try {
    const url = git(["remote", "get-url", "origin"], cwd).trim();
    const m = /[/:]([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+?)(?:\.git)?\/?$/.exec(url);
    return m ? `${m[1]}/${m[2]}` : null;
  } catch {
    return null;
  }
}

/** The first of `candidates` that names a commit here, for a default base (`origin/HEAD`, `main`, `master`). */
export function defaultBase(cwd: string, candidates = ["origin/HEAD", "main", "master"]): string | null {
  for (const c of candidates) if (gitOk(["rev-parse", "--verify", "--quiet", "--end-of-options", `${c}^{commit}`], cwd)) return c;
  return null;
}
