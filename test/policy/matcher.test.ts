import { describe, expect, it } from "vitest";
import { braceExpand, Minimatch } from "minimatch";
import { checkGlob, compileMatcher, globWarning, type GlobSet, naiveMatch, patternForms, rootOnlyHint } from "../../src/policy/matcher.js";

const match = (sets: GlobSet[], path: string) => compileMatcher(sets).match(path);

describe("compiled matcher: semantics", () => {
  it("puts a path in a set when one positive pattern matches", () => {
    expect(match([{ patterns: ["docs/**", "**/*.md"] }], "src/README.md")).toEqual([0]);
  });

  it("keeps a path out of a set when a ! pattern matches it", () => {
    expect(match([{ patterns: ["src/auth/**", "!src/auth/**/*.md"] }], "src/auth/x/notes.md")).toEqual([]);
    expect(match([{ patterns: ["src/auth/**", "!src/auth/**/*.md"] }], "src/auth/x/login.ts")).toEqual([0]);
  });

  it("matches a pattern without / only at the root", () => {
    expect(match([{ patterns: ["*.md"] }], "README.md")).toEqual([0]);
    expect(match([{ patterns: ["*.md"] }], "docs/README.md")).toEqual([]);
  });

  it("matches dotfiles and dot directories", () => {
    expect(match([{ patterns: ["**/*.yml"] }], ".github/workflows/ci.yml")).toEqual([0]);
    expect(match([{ patterns: ["config/*"] }], "config/.env")).toEqual([0]);
  });

  it("expands braces", () => {
    const sets = [{ patterns: ["src/{api,web}/**/*.{ts,tsx}"] }];
    expect(match(sets, "src/web/a/b.tsx")).toEqual([0]);
    expect(match(sets, "src/cli/a.ts")).toEqual([]);
  });

  it("matches unicode path segments", () => {
    expect(match([{ patterns: ["docs/日本語/**"] }], "docs/日本語/ガイド.md")).toEqual([0]);
  });

  it("never matches a set that has only exclusions", () => {
    expect(match([{ patterns: ["!docs/**"] }], "src/a.ts")).toEqual([]);
  });

  it("returns every matching set in ascending order", () => {
    const sets = [{ patterns: ["**/*.ts"] }, { patterns: ["nope/**"] }, { patterns: ["src/**"] }, { patterns: ["src/a.ts"] }];
    expect(match(sets, "src/a.ts")).toEqual([0, 2, 3]);
  });

  it("lets the same pattern be positive in one set and an exclusion in another", () => {
    const sets = [{ patterns: ["**/*.md"] }, { patterns: ["docs/**", "!**/*.md"] }];
    expect(match(sets, "docs/a.md")).toEqual([0]);
    expect(match(sets, "docs/a.png")).toEqual([1]);
  });
});

describe("compiled matcher: dir/** covers dir", () => {
  it("puts the path dir itself (a submodule pointer, a file replacing a directory) in a dir/** set", () => {
    expect(match([{ patterns: ["vendor/lib/**"] }], "vendor/lib")).toEqual([0]);
    expect(match([{ patterns: ["**/secrets/**"] }], "deploy/secrets")).toEqual([0]);
    expect(naiveMatch([{ patterns: ["vendor/lib/**"] }], "vendor/lib")).toEqual([0]);
  });

  it("excludes dir itself with !dir/**", () => {
    expect(match([{ patterns: ["vendor/**", "!vendor/lib/**"] }], "vendor/lib")).toEqual([]);
  });

  it("does not widen other patterns: dir/**/*.ts, dir/* and dir-other stay out", () => {
    expect(match([{ patterns: ["vendor/**/*.ts"] }, { patterns: ["vendor/*"] }, { patterns: ["vendor/**"] }], "vendor")).toEqual([2]);
    expect(match([{ patterns: ["vendor/**"] }], "vendor-other")).toEqual([]);
  });
});

describe("globWarning", () => {
  it("warns about a trailing slash and suggests dir/**", () => {
    expect(globWarning("infra/terraform/")).toEqual({
      message: "ends with /: GitHub reports file paths, never directories, so it matches nothing",
      fix: "infra/terraform/**",
    });
    expect(globWarning("!infra/")?.fix).toBe("!infra/**");
  });

  it("warns about an unclosed [ or { and suggests escaping it", () => {
    expect(globWarning("app/[id.tsx")).toEqual({ message: "has an unclosed [, which minimatch matches as a literal [", fix: "app/\\[id.tsx" });
    expect(globWarning("src/{a,b/x.ts")?.fix).toBe("src/\\{a,b/x.ts");
  });

  it("says nothing for closed classes and braces, escapes, or ] as a class member", () => {
    for (const ok of ["app/[id].tsx", "src/{a,b}/x.ts", "a/\\[x", "[]]x", "[!]]x", "docs/**"]) expect(globWarning(ok), ok).toBeUndefined();
  });
});

describe("checkGlob", () => {
  it.each([
    ["../secrets/**", "`.` and `..` segments never match a repository path"],
    ["src/./x", "`.` and `..` segments never match a repository path"],
    ["/etc/passwd", "paths are relative to the repository root: drop the leading /"],
    ["!!docs/**", "use a single ! to exclude"],
    ["!", "nothing after !"],
    ["a\u0000b", "contains a control character (NUL, newline, tab, ...)"],
    ["a\nb", "contains a control character (NUL, newline, tab, ...)"],
    ["{1..1000000}/x", "braces expand to more than 1000 alternatives"],
    ["{a,b,c,d,e,f,g,h,i,j}/{a,b,c,d,e,f,g,h,i,j}/{a,b,c,d,e,f,g,h,i,j}/{a,b}", "braces expand to more than 1000 alternatives"],
    [Array.from({ length: 11 }, () => "**").join("/"), "more than 10 ** segments"],
    ["x".repeat(1025), "longer than 1024 characters"],
    ["src/***", "*** is not a glob: use * within a segment or ** for any depth"],
    ["#notes", "a pattern starting with # is a comment to minimatch and matches nothing; escape it as \\#"],
  ])("refuses %j", (pattern, message) => {
    expect(checkGlob(pattern)).toBe(message);
  });

  it.each(["src/**", "!src/**/*.md", "**/*.{ts,tsx}", "db/migrations/[0-9]*.sql", "docs/+(a|b).md"])("accepts %j", (pattern) => {
    expect(checkGlob(pattern)).toBeUndefined();
  });

  it("refuses a huge numeric range without expanding it", () => {
    const started = process.hrtime.bigint();
    expect(checkGlob("{1..99999999}{1..99999999}")).toBeDefined();
    // Not a timing assertion on the matcher: only that the range was never expanded (which would take minutes).
    expect(Number(process.hrtime.bigint() - started)).toBeLessThan(5e9);
  });
});

describe("rootOnlyHint", () => {
  it("suggests **/ for a wildcard pattern without /", () => {
    expect(rootOnlyHint("*.md")).toBe("**/*.md");
  });

  it("says nothing for patterns with a directory, exclusions or plain names", () => {
    expect(rootOnlyHint("docs/*.md")).toBeUndefined();
    expect(rootOnlyHint("!*.md")).toBeUndefined();
    expect(rootOnlyHint("Makefile")).toBeUndefined();
    expect(rootOnlyHint("**")).toBeUndefined();
  });
});

/** mulberry32: a small seeded generator, so the differential cases are the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEGMENTS = ["src", "docs", "test", "a", "b", ".github", ".env", "node_modules", "日本", "über", "x.y", "api", "web", "db", "migrations", "ci"];
const FILES = ["index.ts", "a.test.ts", "README.md", "x.md", ".env", "main.go", "z_test.go", "ci.yml", "ガイド.md", "a.tsx", "b.js", "c", ".eslintrc.json"];

function generator(seed: number) {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const segmentPattern = (): string => {
    const k = r();
    if (k < 0.35) return pick(SEGMENTS);
    if (k < 0.5) return "*";
    if (k < 0.6) return "**";
    if (k < 0.7) return `{${pick(SEGMENTS)},${pick(SEGMENTS)}}`;
    if (k < 0.78) return `${pick(SEGMENTS).slice(0, 1)}*`;
    if (k < 0.84) return "?";
    if (k < 0.9) return `[a-d]*`;
    return `+(${pick(SEGMENTS)}|${pick(SEGMENTS)})`;
  };
  const filePattern = (): string => {
    const k = r();
    if (k < 0.3) return pick(FILES);
    if (k < 0.55) return `*.${pick(["ts", "md", "go", "yml", "tsx", "json"])}`;
    if (k < 0.65) return `*.{ts,tsx}`;
    if (k < 0.75) return "*";
    if (k < 0.85) return "**";
    if (k < 0.92) return `*_test.go`;
    return `.*`;
  };
  const pattern = (): string => {
    const depth = Math.floor(r() * 4);
    const parts = Array.from({ length: depth }, segmentPattern);
    const p = [...parts, filePattern()].join("/");
    return r() < 0.2 ? `!${p}` : p;
  };
  const set = (): GlobSet => ({ patterns: Array.from({ length: 1 + Math.floor(r() * 4) }, pattern) });
  const path = (): string => {
    const depth = Math.floor(r() * 5);
    return [...Array.from({ length: depth }, () => pick(SEGMENTS)), pick(FILES)].join("/");
  };
  return { set, path };
}

/** Globs with large brace sets (nested, ranges, escaped and unclosed braces, braces in the file name), matched per expansion. */
function braceGenerator(seed: number) {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const list = (n: number, item: () => string) => `{${Array.from({ length: n }, item).join(",")}}`;
  const segment = (): string => {
    const k = r();
    if (k < 0.35) return list(2 + Math.floor(r() * 8), () => pick(SEGMENTS));
    if (k < 0.45) return list(2 + Math.floor(r() * 3), () => `${pick(SEGMENTS)}/${pick(SEGMENTS)}`);
    if (k < 0.52) return `{${pick(SEGMENTS)},{${pick(SEGMENTS)},${pick(SEGMENTS)}}}`;
    if (k < 0.58) return "{1..3}";
    if (k < 0.62) return `\\{${pick(SEGMENTS)},x\\}`;
    if (k < 0.65) return `{${pick(SEGMENTS)}`;
    if (k < 0.72) return `{${pick(SEGMENTS)},*}`;
    if (k < 0.8) return "**";
    if (k < 0.88) return "*";
    return pick(SEGMENTS);
  };
  const file = (): string => {
    const k = r();
    if (k < 0.3) return `*.${list(2 + Math.floor(r() * 4), () => pick(["ts", "md", "go", "yml", "tsx", "json", "test.ts"]))}`;
    if (k < 0.45) return list(2 + Math.floor(r() * 4), () => pick(FILES));
    if (k < 0.55) return `{index,README,x}.*`;
    if (k < 0.7) return "**";
    return pick(FILES);
  };
  const pattern = (): string => {
    const p = [...Array.from({ length: 1 + Math.floor(r() * 3) }, segment), file()].join("/");
    return r() < 0.2 ? `!${p}` : p;
  };
  return { set: (): GlobSet => ({ patterns: Array.from({ length: 1 + Math.floor(r() * 3) }, pattern) }) };
}

/**
 * naiveMatch with each glob's Minimatch built once (minimatch(path, glob) is exactly new Minimatch(glob).match(path)):
 * the same verdict, affordable for globs of 1,000 expansions.
 */
function prebuiltNaive(sets: readonly GlobSet[]): (path: string) => number[] {
  const built = new Map<string, Minimatch>();
  const test = (glob: string, path: string) =>
    patternForms(glob).some((p) => {
      let mm = built.get(p);
      if (!mm) built.set(p, (mm = new Minimatch(p, { dot: true })));
      return mm.match(path);
    });
  return (path) =>
    sets.flatMap((set, i) =>
      set.patterns.some((g) => !g.startsWith("!") && test(g, path)) && !set.patterns.some((g) => g.startsWith("!") && test(g.slice(1), path)) ? [i] : [],
    );
}

describe("compiled matcher: differential test against minimatch", () => {
  it("agrees with naive minimatch on 120 generated brace-heavy sets x 3,000 generated paths", () => {
    const sets = Array.from({ length: 120 }, braceGenerator(20261202).set);
    const gen = generator(31);
    const paths = Array.from({ length: 3000 }, gen.path);
    // The brace sets must be large, or this says nothing about indexing them per expansion.
    expect(sets.flatMap((s) => s.patterns).filter((p) => braceExpand(p).length >= 20).length).toBeGreaterThan(20);
    const compiled = compileMatcher(sets);
    const naive = prebuiltNaive(sets);
    let nonEmpty = 0;
    for (const path of paths) {
      const expected = naive(path);
      expect(compiled.match(path), path).toEqual(expected);
      if (expected.length > 0) nonEmpty++;
    }
    expect(nonEmpty).toBeGreaterThan(1000);
  });

  it("agrees with minimatch on globs of 1,000 expansions, and on one past the per-glob limit matched whole", () => {
    const letters = "{a,b,c,d,e,f,g,h,i,j}";
    const sets: GlobSet[] = [
      { patterns: [`src/${letters}/${letters}/${letters}/**/*.{ts,md}`.replace(/\{a,b,c,d,e,f,g,h,i,j\}$/, "")] },
      { patterns: [`**/${letters}${letters}/${letters}/*`, "!**/a*/**"] },
      { patterns: [`${letters}/${letters}/${letters}/${letters}`] },
    ];
    const r = rng(3);
    const l = () => "abcdefghijk"[Math.floor(r() * 11)] ?? "a";
    const paths = Array.from({ length: 1500 }, () => {
      const k = r();
      if (k < 0.3) return `src/${l()}/${l()}/${l()}/${l()}.ts`;
      if (k < 0.6) return `x/${l()}${l()}/${l()}/f.md`;
      return `${l()}/${l()}/${l()}/${l()}`;
    });
    const compiled = compileMatcher(sets);
    const naive = prebuiltNaive(sets);
    let nonEmpty = 0;
    for (const path of paths) {
      const expected = naive(path);
      expect(compiled.match(path), path).toEqual(expected);
      if (expected.length > 0) nonEmpty++;
    }
    expect(nonEmpty).toBeGreaterThan(500);
  });

  it("agrees with naive pairwise minimatch on 150 generated sets x 4,000 generated paths", () => {
    const gen = generator(20261124);
    const sets = Array.from({ length: 150 }, gen.set);
    const paths = Array.from({ length: 4000 }, gen.path);
    const compiled = compileMatcher(sets);
    let checked = 0;
    let nonEmpty = 0;
    for (const path of paths) {
      const expected = naiveMatch(sets, path);
      expect(compiled.match(path), path).toEqual(expected);
      checked++;
      if (expected.length > 0) nonEmpty++;
    }
    expect(checked).toBe(4000);
    // The generator must exercise real matches, or the comparison proves little.
    expect(nonEmpty).toBeGreaterThan(2000);
  });

  it("agrees with minimatch on the fixture policies' globs", async () => {
    const { fixturePolicy } = await import("../helpers/policy.js");
    const { loadPolicy } = await import("../../src/policy/load.js");
    const sets: GlobSet[] = [];
    for (const name of ["webapp-monorepo.yml", "payments-service.yml", "infra.yml", "org.yml"]) {
      const result = loadPolicy(fixturePolicy(name), name);
      if (!result.ok) throw new Error(name);
      for (const globs of Object.values(result.loaded.policy.classes)) sets.push({ patterns: globs });
      for (const rule of result.loaded.policy.rules) if (rule.match.paths) sets.push({ patterns: rule.match.paths });
    }
    const gen = generator(7);
    const paths = [
      ...Array.from({ length: 2000 }, gen.path),
      "apps/api/src/auth/x.md",
      "envs/prod-eu/iam/role.tf",
      "internal/cards/pan_store.go",
      "a/.env.local",
    ];
    const compiled = compileMatcher(sets);
    for (const path of paths) expect(compiled.match(path), path).toEqual(naiveMatch(sets, path));
  });

  it("agrees with naive minimatch on paths that name a directory (dir/** covering dir)", () => {
    const gen = generator(99);
    const sets = Array.from({ length: 150 }, gen.set);
    const segments = ["src", "docs", "a", ".github", "api", "db", "migrations", "日本"];
    const r = rng(5);
    const paths = Array.from({ length: 2000 }, () =>
      Array.from({ length: 1 + Math.floor(r() * 3) }, () => segments[Math.floor(r() * segments.length)]).join("/"),
    );
    const compiled = compileMatcher(sets);
    let nonEmpty = 0;
    for (const path of paths) {
      const expected = naiveMatch(sets, path);
      expect(compiled.match(path), path).toEqual(expected);
      if (expected.length > 0) nonEmpty++;
    }
    expect(nonEmpty).toBeGreaterThan(500);
  });
});
