// Reads a change's files for `governor check`: `git diff --numstat`, `--name-status` or `--name-only` output, plain
// (git's C-style quoted paths) or `-z` (NUL-separated, unquoted), or a plain list of paths.
import type { ChangedFile } from "../policy/change.js";
import { UsageError } from "./context.js";

/** The list of changed files could not be read; `source` says from where (`--base main`, a file name). */
export class ChangedFilesError extends UsageError {
  override name = "ChangedFilesError";
  constructor(
    message: string,
    readonly source: string,
  ) {
    super(`${source}: ${message}`);
  }
}

const STATUS: Record<string, ChangedFile["status"]> = {
  A: "added",
  D: "removed",
  M: "modified",
  R: "renamed",
  C: "copied",
  T: "changed",
  U: "changed",
  X: "changed",
};
const STATUS_CODE = /^[ADMRCTUX]\d{0,3}$/;
const ESCAPES: Record<string, number> = { a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, '"': 34, "\\": 92 };

/**
 * Reads one C-quoted path starting at `text[start]` (a `"`), as git writes paths with unusual bytes
 * (core.quotePath): `\t`, `\"`, `\\` and octal bytes (`\303\251` is "é" in UTF-8). Returns the path and where it ended.
 */
export function readQuoted(text: string, start: number): { value: string; end: number } {
  const bytes: number[] = [];
  let i = start + 1;
  for (; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '"') return { value: new TextDecoder().decode(Uint8Array.from(bytes)), end: i + 1 };
    if (ch !== "\\") {
      bytes.push(...Buffer.from(ch, "utf8"));
      continue;
    }
    const next = text[++i] ?? "";
    const octal = /^[0-7]{3}/.exec(text.slice(i, i + 3));
    if (octal) {
      bytes.push(parseInt(octal[0], 8));
      i += 2;
    } else if (next in ESCAPES) {
      bytes.push(ESCAPES[next]!);
    } else {
      throw new Error(`unknown escape \\${next} in a quoted path`);
    }
  }
  throw new Error("a quoted path is not closed");
}

/** A path as git prints it in plain (not -z) output: unquoted, or quoted when it holds unusual bytes. */
export function unquotePath(text: string): string {
  if (!text.startsWith('"')) return text;
  const { value, end } = readQuoted(text, 0);
  if (end !== text.length) throw new Error(`unexpected text after a quoted path: ${JSON.stringify(text.slice(end))}`);
  return value;
}

/**
 * A numstat path field: a path, or a rename written `old => new` (either side may be quoted) or with git's shorthand
 * `src/{old => new}/x.ts` (only used when neither path needs quoting).
 */
function numstatPaths(spec: string): { from?: string; to: string } {
  if (spec.startsWith('"')) {
    const first = readQuoted(spec, 0);
    const rest = spec.slice(first.end);
    if (rest === "") return { to: first.value };
    if (!rest.startsWith(" => ")) throw new Error(`unexpected text after a quoted path: ${JSON.stringify(rest)}`);
    return { from: first.value, to: unquotePath(rest.slice(4)) };
  }
  const brace = /^(.*)\{(.*) => (.*)\}(.*)$/.exec(spec);
  if (brace) {
    const [, pre = "", a = "", b = "", post = ""] = brace;
    const join = (mid: string) => `${pre}${mid}${post}`.replace(/\/\//g, "/");
    return { from: join(a), to: join(b) };
  }
  const arrow = spec.indexOf(" => ");
  if (arrow >= 0) return { from: spec.slice(0, arrow), to: unquotePath(spec.slice(arrow + 4)) };
  return { to: spec };
}

function toCount(text: string | undefined): number {
  const n = Number(text);
  return Number.isInteger(n) && n >= 0 ? n : 0; // "-" for binary files
}

function entry(kind: ChangedFile["status"], to: string, from: string | undefined, lines = { additions: 0, deletions: 0 }): ChangedFile {
  return { path: to, ...(from !== undefined && from !== to ? { previous_path: from } : {}), status: kind, ...lines };
}

/**
 * Parses a file list. Plain text: each line on its own is a numstat line (`12\t3\tpath`), a name-status line
 * (`M\tpath`, `R100\told\tnew`) or a path (name-only, or a hand-written list); git quotes any path with a tab, a quote,
 * a backslash or (by default) a non-ASCII byte, so a bare tab always separates fields. Text with NUL bytes is read as
 * the `-z` forms, in which paths are not quoted at all.
 */
export function parseFileList(text: string, source: string): ChangedFile[] {
  try {
    return merge(text.includes("\0") ? parseZ(text) : parseLines(text));
  } catch (error) {
    if (error instanceof ChangedFilesError) throw error;
    throw new ChangedFilesError(error instanceof Error ? error.message : String(error), source);
  }
}

function parseLines(text: string): ChangedFile[] {
  const files: ChangedFile[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.replace(/\r$/, "");
    if (line.trim() === "" || line.startsWith("#")) return;
    const at = (message: string) => new Error(`line ${index + 1}: ${message}: ${JSON.stringify(line)}`);
    const numstat = /^(\d+|-)\t(\d+|-)\t(.+)$/.exec(line);
    try {
      if (numstat) {
        const { from, to } = numstatPaths(numstat[3] ?? "");
        files.push(entry(from !== undefined ? "renamed" : "modified", to, from, { additions: toCount(numstat[1]), deletions: toCount(numstat[2]) }));
        return;
      }
      const fields = line.split("\t");
      const code = fields[0] ?? "";
      if (fields.length >= 2 && STATUS_CODE.test(code)) {
        const kind = STATUS[code[0] ?? ""] ?? "modified";
        const two = kind === "renamed" || kind === "copied";
        if (fields.length !== (two ? 3 : 2)) throw at(`expected ${two ? "two paths" : "one path"} after ${code}`);
        files.push(two ? entry(kind, unquotePath(fields[2]!), unquotePath(fields[1]!)) : entry(kind, unquotePath(fields[1]!), undefined));
        return;
      }
      if (line.includes("\t")) throw at("not a path, numstat or name-status line");
      files.push(entry("modified", unquotePath(line.trim()).replace(/^\.\//, ""), undefined));
    } catch (error) {
      throw error instanceof Error && error.message.startsWith(`line ${index + 1}:`) ? error : at(error instanceof Error ? error.message : String(error));
    }
  });
  return files;
}

/**
 * The `-z` forms: `--numstat -z` gives `add\tdel\tpath\0` or, for a rename, `add\tdel\t\0old\0new\0`;
 * `--name-status -z` gives `M\0path\0` or `R100\0old\0new\0`; `--name-only -z` gives `path\0`.
 * A token that is a bare status code starts a name-status record (a file named exactly `M` would be read as one).
 */
function parseZ(text: string): ChangedFile[] {
  const tokens = text.split("\0");
  if (tokens[tokens.length - 1] === "") tokens.pop();
  const files: ChangedFile[] = [];
  const take = (i: number, what: string): string => {
    const t = tokens[i];
    if (t === undefined || t === "") throw new Error(`record ${i + 1}: ${what} is missing (truncated -z output?)`);
    return t;
  };
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token === "") continue;
    const numstat = /^(\d+|-)\t(\d+|-)\t([^]*)$/.exec(token);
    if (numstat) {
      const lines = { additions: toCount(numstat[1]), deletions: toCount(numstat[2]) };
      if (numstat[3] === "") {
        const from = take(i + 1, "the old path of a rename");
        const to = take(i + 2, "the new path of a rename");
        files.push(entry("renamed", to, from, lines));
        i += 2;
      } else {
        files.push(entry("modified", numstat[3] ?? "", undefined, lines));
      }
      continue;
    }
    if (STATUS_CODE.test(token)) {
      const kind = STATUS[token[0] ?? ""] ?? "modified";
      if (kind === "renamed" || kind === "copied") {
        files.push(entry(kind, take(i + 2, "the new path"), take(i + 1, "the old path")));
        i += 2;
      } else {
        files.push(entry(kind, take(i + 1, "the path"), undefined));
        i += 1;
      }
      continue;
    }
    files.push(entry("modified", token, undefined));
  }
  return files;
}

/**
 * One entry a path: `git diff --numstat --name-status` (or the two outputs concatenated) lists each file twice, once
 * with its lines and once with its status; both halves are kept.
 */
function merge(files: ChangedFile[]): ChangedFile[] {
  const byPath = new Map<string, ChangedFile>();
  for (const f of files) {
    const seen = byPath.get(f.path);
    if (!seen) {
      byPath.set(f.path, f);
      continue;
    }
    byPath.set(f.path, {
      ...seen,
      status: seen.status === "modified" ? f.status : seen.status,
      ...((seen.previous_path ?? f.previous_path) ? { previous_path: seen.previous_path ?? f.previous_path } : {}),
      additions: Math.max(seen.additions, f.additions),
      deletions: Math.max(seen.deletions, f.deletions),
    });
  }
  return [...byPath.values()];
}
