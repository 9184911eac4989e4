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

/**
 * The unit of matching: one brace expansion of a policy glob (or a whole glob that is not expanded), with the sets that
 * use it. A glob matches a path when one of its expansions does (that is how minimatch matches braces), so the sets of
 * a glob can be credited from each expansion separately. Its Minimatch is built on the first path that reaches it: an
 * expansion no changed file could match costs a string split, not a compile.
 */
interface Unit {
  text: string;
  /** `nobrace`: the text is already one expansion, to be matched as it is (as minimatch matches each expansion). */
  expanded: boolean;
  matcher: Minimatch | undefined;
  /** Which sets use this pattern, and whether as an exclusion. */
  uses: Array<{ set: number; negative: boolean }>;
}

const MAGIC = /[*?[\]()!+@\\{}]/;
/**
 * How many brace expansions of one glob are indexed one by one: the loader's per-glob limit, so every valid glob is.
 * Beyond it (a matcher built outside the loader) the glob is matched whole, for every path.
 */
export const MAX_BRACE_ALTERNATIVES = 1000;

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

/**
 * The index key of one expansion, or null when it must be tested for every path. Read from the text itself: a pattern
 * of plain `/`-separated segments is split by minimatch exactly so; anything else (empty, `.`/`..` segments, a leading
 * `!` or `#`) takes minimatch's own parse.
 */
function indexKey(expansion: string): IndexKey | null {
  let parts = expansion.split("/");
  if (expansion.startsWith("!") || expansion.startsWith("#") || parts.some((p) => p === "" || p === "." || p === "..")) {
    const mm = new Minimatch(expansion, { ...OPTIONS, nobrace: true });
    if (mm.comment || mm.empty || mm.negate || mm.globParts.length !== 1) return null;
    parts = mm.globParts[0] ?? [];
  }
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
    let cut = -1;
    for (let i = 0; i < last.length; i++) if (MAGIC.test(last[i] ?? "")) cut = i;
    suffix = last.slice(cut + 1);
  }
  if (prefix.length === 0 && segment === null && suffix === "") return null;
  return { prefix, segment, suffix };
}

/** A glob's expansions, to be indexed one by one; null when it is to be matched whole (too many, or not expandable). */
function expansionsOf(pattern: string): string[] | null {
  if (pattern.startsWith("!") || pattern.startsWith("#") || pattern === "") return null;
  if (braceAlternatives(pattern) > MAX_BRACE_ALTERNATIVES) return null;
  const expansions = braceExpand(pattern, OPTIONS);
  return expansions.length === 0 || expansions.length > MAX_BRACE_ALTERNATIVES ? null : [...new Set(expansions)];
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
  // A set without a positive pattern can never contain anything: leave its patterns out of the work entirely.
  const hasPositive = sets.map((s) => s.patterns.some((p) => !p.startsWith("!")));
  // Uses of each distinct glob form first: a glob shared by many sets is expanded, and its expansions filed, once.
  const formUses = new Map<string, Array<{ set: number; negative: boolean }>>();
  sets.forEach((set, index) => {
    if (!hasPositive[index]) return;
    for (const raw of set.patterns) {
      const negative = raw.startsWith("!");
      for (const text of patternForms(negative ? raw.slice(1) : raw)) {
        const uses = formUses.get(text) ?? [];
        formUses.set(text, uses);
        if (!uses.some((u) => u.set === index && u.negative === negative)) uses.push({ set: index, negative });
      }
    }
  });
  const byText = new Map<string, Unit>();
  const units: Unit[] = [];
  const file = (text: string, expanded: boolean, uses: Array<{ set: number; negative: boolean }>) => {
    const key = `${expanded ? "e" : "w"}${text}`;
    const unit = byText.get(key);
    if (!unit) {
      // The form's uses array is shared by all its expansions, never mutated after: merging makes a new one.
      const fresh: Unit = { text, expanded, matcher: undefined, uses };
      byText.set(key, fresh);
      units.push(fresh);
      return;
    }
    if (unit.uses === uses) return;
    const merged = [...unit.uses];
    for (const use of uses) if (!merged.some((u) => u.set === use.set && u.negative === use.negative)) merged.push(use);
    unit.uses = merged;
  };
  for (const [text, uses] of formUses) {
    const expansions = expansionsOf(text);
    if (expansions === null) file(text, false, uses);
    else for (const expansion of expansions) file(expansion, true, uses);
  }

  const root = node();
  const bySegment = new Map<string, SuffixBuckets>();
  const always: number[] = [];
  units.forEach((unit, i) => {
    const key = unit.expanded ? indexKey(unit.text) : null;
    if (!key) {
      always.push(i);
      return;
    }
    if (key.segment !== null) {
      const buckets = bySegment.get(key.segment) ?? new SuffixBuckets();
      bySegment.set(key.segment, buckets);
      buckets.add(key.suffix, i);
      return;
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
  });

  const stamp = new Uint32Array(units.length);
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
        const unit = units[i];
        if (!unit) return;
        unit.matcher ??= new Minimatch(unit.text, unit.expanded ? { ...OPTIONS, nobrace: true } : OPTIONS);
        if (!unit.matcher.match(path)) return;
        for (const use of unit.uses) {
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
const MAX_GLOBSTARS = 10;
const MAX_LENGTH = 1024;

/**
 * Counts brace alternatives without expanding them, so `{1..1000000}` costs nothing to refuse; nested groups are
 * counted from above, never below, so a cap on this count caps the real expansions.
 */
export function braceAlternatives(pattern: string): number {
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
  // eslint-disable-next-line no-control-regex -- finding control characters is this check's purpose
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
