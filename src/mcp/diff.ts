// Reads the changed files of a unified diff (`git diff` output, or `diff -u`), as an agent passes its pending change
// to `check_change`: paths (git's quoting included), renames and copies with their old path, added and deleted files,
// and the lines added and removed (counted by the hunk headers, so a removed line "-- x" is not taken for a header).
import type { ChangedFile } from "../policy/change.js";
import { readQuoted, unquotePath } from "../cli/changed-files.js";

interface Pending {
  path?: string;
  previous?: string;
  status: ChangedFile["status"];
  additions: number;
  deletions: number;
}

const stripPrefix = (p: string) => p.replace(/^[ab]\//, "");

/** A path on a `---`/`+++` line: quoted, or up to a tab (`diff -u` puts the time after one); null for /dev/null. */
function headerPath(rest: string): string | null {
  if (rest.startsWith('"')) return stripPrefix(readQuoted(rest, 0).value);
  const path = rest.replace(/\t.*$/, "").trimEnd();
  return path === "/dev/null" ? null : stripPrefix(path);
}

/** The two paths of `diff --git a/X b/Y`; for unquoted paths that contain " b/", the equal-halves reading wins. */
function gitHeaderPaths(rest: string): { a: string; b: string } | null {
  if (rest.startsWith('"')) {
    const a = readQuoted(rest, 0);
    return { a: stripPrefix(a.value), b: stripPrefix(unquotePath(rest.slice(a.end + 1))) };
  }
  const half = (rest.length - 1) / 2;
  if (Number.isInteger(half) && rest.startsWith("a/") && rest.slice(half + 1).startsWith("b/") && rest.slice(2, half) === rest.slice(half + 3)) {
    return { a: rest.slice(2, half), b: rest.slice(half + 3) };
  }
  const at = rest.indexOf(" b/");
  if (at < 0) return null;
  const b = rest.slice(at + 1);
  return { a: stripPrefix(rest.slice(0, at)), b: stripPrefix(b.startsWith('"') ? unquotePath(b) : b) };
}

const HUNK = /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/;

export function filesFromDiff(diff: string): ChangedFile[] {
  const files: ChangedFile[] = [];
  let current: Pending | null = null;
  let oldLeft = 0;
  let newLeft = 0;
  const flush = () => {
    if (current?.path) {
      const keepOld = (current.status === "renamed" || current.status === "copied") && current.previous && current.previous !== current.path;
      files.push({
        path: current.path,
        ...(keepOld ? { previous_path: current.previous } : {}),
        status: current.status,
        additions: current.additions,
        deletions: current.deletions,
      });
    }
    current = null;
  };
  for (const line of diff.split(/\r?\n/)) {
    if (current && (oldLeft > 0 || newLeft > 0)) {
      const c: Pending = current;
      if (line.startsWith("+")) [c.additions, newLeft] = [c.additions + 1, newLeft - 1];
      else if (line.startsWith("-")) [c.deletions, oldLeft] = [c.deletions + 1, oldLeft - 1];
      else if (line.startsWith(" ") || line === "") [oldLeft, newLeft] = [oldLeft - 1, newLeft - 1];
      continue; // "\ No newline at end of file" counts for neither side
    }
    const hunk = HUNK.exec(line);
    if (hunk && current) {
      oldLeft = hunk[1] === undefined ? 1 : Number(hunk[1]);
      newLeft = hunk[2] === undefined ? 1 : Number(hunk[2]);
      continue;
    }
    if (line.startsWith("diff --git ")) {
      flush();
      const paths = gitHeaderPaths(line.slice("diff --git ".length));
      current = { status: "modified", additions: 0, deletions: 0, ...(paths ? { path: paths.b, previous: paths.a } : {}) };
      continue;
    }
    if (line.startsWith("--- ")) {
      // A `diff -u` without git's header starts its file here; after git's header it only confirms the old path.
      if (!current || current.additions + current.deletions > 0) {
        flush();
        current = { status: "modified", additions: 0, deletions: 0 };
      }
      const from = headerPath(line.slice(4));
      if (from === null) current.status = "added";
      else current.previous = from;
      continue;
    }
    if (!current) continue;
    const c: Pending = current;
    if (line.startsWith("+++ ")) {
      const to = headerPath(line.slice(4));
      if (to === null) [c.status, c.path] = ["removed", c.previous];
      else c.path = to;
    } else if (line.startsWith("new file mode")) c.status = "added";
    else if (line.startsWith("deleted file mode")) c.status = "removed";
    else if (line.startsWith("rename from ")) [c.status, c.previous] = ["renamed", unquotePath(line.slice(12))];
    else if (line.startsWith("rename to ")) c.path = unquotePath(line.slice(10));
    else if (line.startsWith("copy from ")) [c.status, c.previous] = ["copied", unquotePath(line.slice(10))];
    else if (line.startsWith("copy to ")) c.path = unquotePath(line.slice(8));
  }
  flush();
  return files;
}
