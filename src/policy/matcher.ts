// The compiled path matcher: all globs of a policy compiled once and indexed, so that a path is tested only
// against the few patterns that could match it. Results are identical to testing every pattern with minimatch.
import { braceExpand, Minimatch, minimatch, type MinimatchOptions } from "minimatch";

export interface GlobSet {
  readonly patterns: readonly string[];
}

export interface PathMatcher {
  /** Ascending indices of the sets that contain `path`. */
  match(path: string): number[];
}

const OPTIONS: MinimatchOptions = { dot: true };

/**
 * The minimatch patterns a policy glob stands for: `dir/**` also covers the path `dir` itself, which GitHub reports
 * for a submodule pointer or a file that replaces a directory (minimatch alone would not match it).
 */
export function patternForms(pattern: string): string[] {
  if (pattern.length > 3 && pattern.endsWith("/**")) {
    const dir = pattern.slice(0, -3);
    if (dir !== "**" && !dir.endsWith("/")) return [pattern, dir];
  }
  return [pattern];
}

const matchesGlob = (path: string, pattern: string) => patternForms(pattern).some((p) => minimatch(path, p, OPTIONS));

/** A path is in a set when it matches a positive pattern and no `!` pattern; a set with no positive pattern is empty. */
export function naiveMatch(sets: readonly GlobSet[], path: string): number[] {
  const out: number[] = [];
  sets.forEach((set, index) => {
    let positive = false;
    for (const p of set.patterns) {
      if (p.startsWith("!")) continue;
      if (matchesGlob(path, p)) {
        positive = true;
        break;
      }
    }
    if (!positive) return;
    for (const p of set.patterns) if (p.startsWith("!") && matchesGlob(path, p.slice(1))) return;
    out.push(index);
  });
  return out;
}

interface CompiledPattern {
  matcher: Minimatch;
  /** Which sets use this pattern, and whether as an exclusion. */
  uses: Array<{ set: number; negative: boolean }>;
}

const MAGIC = /[*?[\]()!+@\\{}]/;
/** How many brace expansions we look at for indexing; beyond that the pattern is tested for every path. */
const MAX_INDEX_EXPANSIONS = 64;

/**
 * Where a pattern can be found. `prefix`: its leading literal directory segments (the path must start with them);
 * `segment`: for patterns without such a prefix, a literal middle segment the path must contain;
 * `suffix`: the literal end of its last segment (the file name must end with it), or "" when there is none.
 */
interface IndexKey {
  prefix: string[];
  segment: string | null;
  suffix: string;
}

const isLiteral = (part: string) => part !== "" && part !== "." && part !== ".." && !MAGIC.test(part);

function indexKeys(pattern: string): IndexKey[] | null {
  const expansions = braceExpand(pattern);
  if (expansions.length === 0 || expansions.length > MAX_INDEX_EXPANSIONS) return null;
  const keys: IndexKey[] = [];
  for (const expansion of expansions) {
    const mm = new Minimatch(expansion, { ...OPTIONS, nobrace: true });
    if (mm.comment || mm.empty || mm.negate || mm.globParts.length !== 1) return null;
    const parts = mm.globParts[0] ?? [];
    const last = parts[parts.length - 1];
    if (last === undefined) return null;
    const dirs = parts.slice(0, -1);
    const prefix: string[] = [];
    for (const part of dirs) {
      if (!isLiteral(part)) break;
      prefix.push(part);
    }
    const segment = prefix.length === 0 ? (dirs.find(isLiteral) ?? null) : null;
    let suffix = "";
    if (last !== "**" && last !== "" && last !== "." && last !== "..") {
      const cut = Math.max(-1, ...[...last].map((ch, i) => (MAGIC.test(ch) ? i : -1)));
      suffix = last.slice(cut + 1);
    }
    if (prefix.length === 0 && segment === null && suffix === "") return null;
    keys.push({ prefix, segment, suffix });
  }
  return keys;
}

/** Patterns filed by the literal end of the file name they need ("" = any name). */
class SuffixBuckets {
  private readonly buckets = new Map<string, number[]>();
  private lengths: number[] = [];

  add(suffix: string, pattern: number): void {
    const list = this.buckets.get(suffix) ?? [];
    if (!list.includes(pattern)) list.push(pattern);
    this.buckets.set(suffix, list);
    if (suffix !== "" && !this.lengths.includes(suffix.length)) this.lengths = [...this.lengths, suffix.length].sort((a, b) => a - b);
  }

  visit(base: string, test: (pattern: number) => void): void {
    for (const i of this.buckets.get("") ?? []) test(i);
    for (const length of this.lengths) {
      if (length > base.length) break;
      for (const i of this.buckets.get(base.slice(base.length - length)) ?? []) test(i);
    }
  }
}

interface TrieNode {
  children: Map<string, TrieNode>;
  here: SuffixBuckets;
}

const node = (): TrieNode => ({ children: new Map(), here: new SuffixBuckets() });

export function compileMatcher(sets: readonly GlobSet[]): PathMatcher {
  const byText = new Map<string, CompiledPattern>();
  sets.forEach((set, index) => {
    for (const raw of set.patterns) {
      const negative = raw.startsWith("!");
      for (const text of patternForms(negative ? raw.slice(1) : raw)) {
        let compiled = byText.get(text);
        if (!compiled) {
          compiled = { matcher: new Minimatch(text, OPTIONS), uses: [] };
          byText.set(text, compiled);
        }
        if (!compiled.uses.some((u) => u.set === index && u.negative === negative)) compiled.uses.push({ set: index, negative });
      }
    }
  });
  const patterns = [...byText.entries()];
  // A set without a positive pattern can never contain anything: leave its patterns out of the work entirely.
  const hasPositive = sets.map((s) => s.patterns.some((p) => !p.startsWith("!")));

  const root = node();
  const bySegment = new Map<string, SuffixBuckets>();
  const always: number[] = [];
  patterns.forEach(([text, compiled], i) => {
    if (!compiled.uses.some((u) => hasPositive[u.set])) return;
    const keys = indexKeys(text);
    if (!keys) {
      always.push(i);
      return;
    }
    for (const key of keys) {
      if (key.segment !== null) {
        const buckets = bySegment.get(key.segment) ?? new SuffixBuckets();
        bySegment.set(key.segment, buckets);
        buckets.add(key.suffix, i);
        continue;
      }
      let at = root;
      for (const seg of key.prefix) {
        let next = at.children.get(seg);
        if (!next) {
          next = node();
          at.children.set(seg, next);
        }
        at = next;
      }
      at.here.add(key.suffix, i);
    }
  });

  const stamp = new Uint32Array(patterns.length);
  let generation = 0;
  const positive = new Uint8Array(sets.length);
  const negative = new Uint8Array(sets.length);

  return {
    match(path: string): number[] {
      generation++;
      const touched: number[] = [];
      const test = (i: number) => {
        if (stamp[i] === generation) return;
        stamp[i] = generation;
        const entry = patterns[i];
        if (!entry) return;
        const compiled = entry[1];
        if (!compiled.matcher.match(path)) return;
        for (const use of compiled.uses) {
          if (positive[use.set] === 0 && negative[use.set] === 0) touched.push(use.set);
          if (use.negative) negative[use.set] = 1;
          else positive[use.set] = 1;
        }
      };
      const segments = path.split("/");
      const base = segments[segments.length - 1] ?? "";
      let at: TrieNode | undefined = root;
      at.here.visit(base, test);
      for (let d = 0; d < segments.length - 1 && at; d++) {
        at = at.children.get(segments[d] ?? "");
        at?.here.visit(base, test);
      }
      if (bySegment.size > 0) for (const seg of segments) bySegment.get(seg)?.visit(base, test);
      for (const i of always) test(i);

      const out: number[] = [];
      for (const set of touched) {
        if (positive[set] === 1 && negative[set] === 0) out.push(set);
        positive[set] = 0;
        negative[set] = 0;
      }
      return out.sort((a, b) => a - b);
    },
  };
}

/** Brace expansions and `**` runs are where glob matching can get expensive; bound both. */
const MAX_BRACE_ALTERNATIVES = 1000;
const MAX_GLOBSTARS = 10;
const MAX_LENGTH = 1024;

/** Counts brace alternatives without expanding them, so `{1..1000000}` costs nothing to refuse. */
function braceAlternatives(pattern: string): number {
  const range = /\{(-?\d+)\.\.(-?\d+)(?:\.\.-?\d+)?\}|\{([a-zA-Z])\.\.([a-zA-Z])\}/g;
  let total = 1;
  for (const m of pattern.matchAll(range)) {
    const span = m[1] !== undefined ? Math.abs(Number(m[2]) - Number(m[1])) + 1 : Math.abs((m[4] ?? "a").charCodeAt(0) - (m[3] ?? "a").charCodeAt(0)) + 1;
    total *= span;
    if (total > MAX_BRACE_ALTERNATIVES) return total;
  }
  // Comma lists: each top-level group multiplies the count by its number of items (nested groups are approximated from above).
  let depth = 0;
  const stack: number[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === "\\") {
      i++;
      continue;
    }
    if (ch === "{") {
      depth++;
      stack.push(1);
    } else if (ch === "," && depth > 0) {
      stack[stack.length - 1] = (stack[stack.length - 1] ?? 1) + 1;
    } else if (ch === "}" && depth > 0) {
      depth--;
      total *= stack.pop() ?? 1;
      if (total > MAX_BRACE_ALTERNATIVES) return total;
    }
  }
  return total;
}

/** A clear reason to refuse a glob in a policy, or undefined when it is acceptable. */
export function checkGlob(pattern: string): string | undefined {
  if (pattern.length > MAX_LENGTH) return `longer than ${MAX_LENGTH} characters`;
  if (/[\u0000-\u001f\u007f]/.test(pattern)) return "contains a control character (NUL, newline, tab, ...)";
  if (pattern.startsWith("!!")) return "use a single ! to exclude";
  const body = pattern.startsWith("!") ? pattern.slice(1) : pattern;
  if (body === "") return "nothing after !";
  if (body.startsWith("/")) return "paths are relative to the repository root: drop the leading /";
  if (body.startsWith("#")) return "a pattern starting with # is a comment to minimatch and matches nothing; escape it as \\#";
  const segments = body.split("/");
  if (segments.some((s) => s === ".." || s === ".")) return "`.` and `..` segments never match a repository path";
  if (segments.filter((s) => s === "**").length > MAX_GLOBSTARS) return `more than ${MAX_GLOBSTARS} ** segments`;
  // Runs of stars inside one segment (a***b) or stacked extglobs are the classic backtracking traps.
  if (/\*{3,}/.test(body)) return "*** is not a glob: use * within a segment or ** for any depth";
  if ((body.match(/[*?+@!]\(/g) ?? []).length > 5) return "more than 5 extglob groups";
  const alternatives = braceAlternatives(body);
  if (alternatives > MAX_BRACE_ALTERNATIVES) return `braces expand to more than ${MAX_BRACE_ALTERNATIVES} alternatives`;
  try {
    new Minimatch(body, OPTIONS).match("probe");
  } catch (error) {
    return `not a valid glob: ${error instanceof Error ? error.message : String(error)}`;
  }
  return undefined;
}

/**
 * A warning for a glob that is valid but can never match a path GitHub reports, with the fix; undefined when fine.
 * GitHub lists files, never directories, and minimatch reads an unclosed `[` or `{` as a literal character.
 */
export function globWarning(pattern: string): { message: string; fix?: string } | undefined {
  const negated = pattern.startsWith("!");
  const body = negated ? pattern.slice(1) : pattern;
  const bang = negated ? "!" : "";
  if (body.endsWith("/")) {
    const fix = `${bang}${body.replace(/\/+$/, "")}/**`;
    return { message: "ends with /: GitHub reports file paths, never directories, so it matches nothing", fix };
  }
  let depth = 0;
  let openClass = -1;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch === "\\") {
      i++;
      continue;
    }
    if (openClass >= 0) {
      // `]` right after `[` or `[!` is a member of the class, not its end.
      if (ch === "]" && i > openClass + 1 && !(i === openClass + 2 && (body[openClass + 1] === "!" || body[openClass + 1] === "^"))) openClass = -1;
      continue;
    }
    if (ch === "[") openClass = i;
    else if (ch === "{") depth++;
    else if (ch === "}" && depth > 0) depth--;
  }
  if (openClass >= 0) return { message: "has an unclosed [, which minimatch matches as a literal [", fix: `${bang}${escapeAt(body, openClass)}` };
  if (depth > 0) {
    const at = lastUnclosedBrace(body);
    return { message: "has an unclosed {, which minimatch matches as a literal {", fix: `${bang}${at >= 0 ? escapeAt(body, at) : body}` };
  }
  return undefined;
}

const escapeAt = (text: string, i: number) => `${text.slice(0, i)}\\${text.slice(i)}`;

function lastUnclosedBrace(body: string): number {
  const open: number[] = [];
  for (let i = 0; i < body.length; i++) {
    if (body[i] === "\\") i++;
    else if (body[i] === "{") open.push(i);
    else if (body[i] === "}") open.pop();
  }
  return open[0] ?? -1;
}

/** For a positive pattern that can only match at the repository root (no `/`, some wildcard), the `**\/` form it likely meant. */
export function rootOnlyHint(pattern: string): string | undefined {
  if (pattern.startsWith("!") || pattern.includes("/")) return undefined;
  if (!/[*?[{]/.test(pattern) || pattern === "**") return undefined;
  return `**/${pattern}`;
}
