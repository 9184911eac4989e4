// Loads `.governance.yml` text into a checked Policy, or into a list of problems that each say file:line:column and field.
import { constructFromEvents, parseEvents, YAMLException, type Event } from "js-yaml";
import type { z } from "zod";
import { braceAlternatives, checkGlob, MAX_BRACE_ALTERNATIVES, globWarning, rootOnlyHint } from "./matcher.js";
import { AGENT_PRESETS, GlobListSchema, type Policy, PolicySchema } from "./schema.js";
import { lineColumn, type NodePosition, type PathKey, pathId, positionsOf } from "./yaml-positions.js";
import { closest } from "./suggest.js";
import { windowEnd, windowStart } from "./windows.js";

export { windowEnd, windowStart };

/** Hard limits on what a policy file may be; each keeps a hostile file from costing more than a normal one. */
export const POLICY_LIMITS = {
  maxBytes: 256 * 1024,
  maxDepth: 32,
  maxRules: 500,
  maxGlobs: 5000,
  /**
   * Brace expansions of all globs together (each glob is also capped at MAX_BRACE_ALTERNATIVES): every expansion is
   * indexed and matched on its own, so this bounds a brace-heavy policy's cost at about that of a policy of this many globs.
   */
  maxBraceExpansions: 10_000,
} as const;

const CITED_SETTINGS: PathKey[][] = [
  ["default"],
  ["default_approvers"],
  ["owners"],
  ["scope"],
  ["limits", "max_files"],
  ["limits", "max_lines"],
  ["limits", "max_prs_per_day"],
  ["limits", "action"],
  ["labels", "allowed"],
  ["labels", "needs_approval"],
  ["labels", "denied"],
];

/**
 * How a file is loaded. `org`: the org policy this (repo) file is combined with; the checks that depend on the
 * combination (agent names in match.agents, who approves a gate) then count what the org defines.
 */
export interface LoadOptions {
  org?: Policy;
  /** Which file this is, when known: `org_limits` is valid only in the org policy, and is an error in a repo's. */
  role?: "org" | "repo";
}

export interface PolicyProblem {
  severity: "error" | "warning";
  file: string;
  line: number;
  column: number;
  /** Dotted path of the field, e.g. `rules[2].match.classes[0]`; empty for the whole file. */
  field: string;
  message: string;
}

export interface LoadedPolicy {
  policy: Policy;
  file: string;
  /** 1-based line of each rule (same order as policy.rules), for links to the policy line. */
  ruleLines: number[];
  /** 1-based line of other settings decisions cite: `default`, `owners`, `limits.max_files`, ... (absent when not written). */
  lines: Record<string, number>;
  warnings: PolicyProblem[];
}

export type LoadResult = { ok: true; loaded: LoadedPolicy } | { ok: false; errors: PolicyProblem[]; warnings: PolicyProblem[] };

export function formatProblem(p: PolicyProblem): string {
  const where = p.field ? ` ${p.field}:` : "";
  return `${p.file}:${p.line}:${p.column}: ${p.severity}:${where} ${p.message}`;
}

export function formatField(path: readonly PathKey[]): string {
  let out = "";
  for (const key of path) out += typeof key === "number" ? `[${key}]` : out ? `.${key}` : key;
  return out;
}

export function loadPolicy(rawText: string, file: string, options: LoadOptions = {}): LoadResult {
  const text = rawText.charCodeAt(0) === 0xfeff ? rawText.slice(1) : rawText; // a UTF-8 BOM is legal YAML; drop it
  const at = (offset: number, field: string, message: string, severity: PolicyProblem["severity"] = "error"): PolicyProblem => ({
    severity,
    file,
    ...lineColumn(text, offset),
    field,
    message,
  });

  if (Buffer.byteLength(text, "utf8") > POLICY_LIMITS.maxBytes) {
    return fail([at(0, "", `the policy file is ${Buffer.byteLength(text, "utf8")} bytes; the limit is ${POLICY_LIMITS.maxBytes}`)]);
  }
  if (text.includes("\u0000")) {
    return fail([at(text.indexOf("\u0000"), "", "the policy file contains a NUL character")]);
  }
  // Bytes that are not UTF-8 arrive here as U+FFFD (GitHub's contents and the CLI both decode as UTF-8): a text that
  // was mangled in decoding must not be judged as if it said what it seems to.
  if (text.includes("\ufffd")) {
    return fail([at(text.indexOf("\ufffd"), "", "the policy file is not valid UTF-8 (or contains U+FFFD, the replacement character)")]);
  }

  let events: Event[];
  let documents: unknown[];
  try {
    events = parseEvents(text, { filename: file, maxDepth: POLICY_LIMITS.maxDepth });
    // Aliases are refused outright: they are the lever of "billion laughs" expansion, and a policy has no need for them.
    documents = constructFromEvents(events, { source: text, filename: file, maxAliases: 0 });
  } catch (error) {
    return fail([yamlProblem(error, file)]);
  }
  if (documents.length !== 1) {
    return fail([at(0, "", documents.length === 0 ? "the policy file is empty" : "the policy file must hold exactly one YAML document")]);
  }
  const doc = documents[0];
  const positions = positionsOf(text, events);
  const locate = (path: readonly PathKey[], preferKey = false): number => {
    for (let p = [...path]; ; p = p.slice(0, -1)) {
      const pos: NodePosition | undefined = positions.get(pathId(p));
      if (pos) return preferKey && p.length === path.length && pos.key >= 0 ? pos.key : pos.value >= 0 ? pos.value : pos.key;
      if (p.length === 0) return 0;
    }
  };

  const parsed = PolicySchema.safeParse(doc);
  if (!parsed.success) {
    const errors = parsed.error.issues.flatMap((issue) => issueProblems(issue, doc, locate, at));
    return fail(errors);
  }
  const classes = ownRecord(parsed.data.classes, (doc as Record<string, unknown>)["classes"]);
  if (!classes.ok) return fail(classes.issues.flatMap((issue) => issueProblems(issue, doc, locate, at)));
  const policy = { ...parsed.data, classes: classes.value };
  const report: Report = (path, message, severity, preferKey) => at(locate(path, preferKey), formatField(path), message, severity);
  const problems = [...semanticProblems(policy, options.org, report), ...budgetProblems(doc, policy, options, report)];
  const errors = problems.filter((p) => p.severity === "error");
  const warnings = problems.filter((p) => p.severity === "warning");
  if (errors.length > 0) return { ok: false, errors, warnings };
  const ruleLines = policy.rules.map((_, i) => lineColumn(text, locate(["rules", i])).line);
  const lines: Record<string, number> = {};
  for (const path of CITED_SETTINGS) {
    const pos = positions.get(pathId(path));
    if (pos) lines[path.join(".")] = lineColumn(text, pos.key >= 0 ? pos.key : pos.value).line;
  }
  for (const path of budgetPaths(policy)) {
    const pos = positions.get(pathId(path));
    if (pos) lines[path.join(".")] = lineColumn(text, pos.key >= 0 ? pos.key : pos.value).line;
  }
  return { ok: true, loaded: { policy, file, ruleLines, lines, warnings } };
}

/**
 * The classes as a prototype-free record: zod builds records on a plain object, where a class named `__proto__` sets
 * the prototype instead of a key (and vanishes unchecked), and `toString` would seem defined. Such a key is checked
 * here with the same schema.
 */
function ownRecord(parsed: Record<string, string[]>, raw: unknown): { ok: true; value: Record<string, string[]> } | { ok: false; issues: z.core.$ZodIssue[] } {
  const out = Object.create(null) as Record<string, string[]>;
  for (const [key, value] of Object.entries(parsed)) out[key] = value;
  const issues: z.core.$ZodIssue[] = [];
  if (raw !== null && typeof raw === "object") {
    for (const key of Object.keys(raw)) {
      if (Object.hasOwn(out, key)) continue;
      const checked = GlobListSchema.safeParse((raw as Record<string, unknown>)[key]);
      if (checked.success) out[key] = checked.data;
      else issues.push(...checked.error.issues.map((issue) => ({ ...issue, path: ["classes", key, ...issue.path] })));
    }
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: out };
}

function fail(errors: PolicyProblem[]): LoadResult {
  return { ok: false, errors, warnings: [] };
}

function yamlProblem(error: unknown, file: string): PolicyProblem {
  if (error instanceof YAMLException) {
    const reason = /exceeded maxAliases/.test(error.reason)
      ? "YAML aliases (*name) are not allowed in a policy file"
      : /maxDepth|depth/i.test(error.reason)
        ? `the YAML nests deeper than ${POLICY_LIMITS.maxDepth} levels`
        : `YAML syntax: ${error.reason}`;
    return {
      severity: "error",
      file,
      field: "",
      line: (error.mark?.line ?? 0) + 1,
      column: (error.mark?.column ?? 0) + 1,
      message: reason,
    };
  }
  return { severity: "error", file, field: "", line: 1, column: 1, message: `cannot read the YAML: ${String(error)}` };
}

type Locate = (path: readonly PathKey[], preferKey?: boolean) => number;
type At = (offset: number, field: string, message: string) => PolicyProblem;

function issueProblems(issue: z.core.$ZodIssue, doc: unknown, locate: Locate, at: At): PolicyProblem[] {
  const path = issue.path.filter((k): k is PathKey => typeof k === "string" || typeof k === "number");
  const field = formatField(path);
  if ((issue.code === "invalid_type" || issue.code === "invalid_value" || issue.code === "invalid_union") && valueAt(doc, path) === undefined) {
    return [at(locate(path), field, `missing required field "${String(path[path.length - 1] ?? "")}"`)];
  }
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => {
        const known = knownKeysAt(path);
        const hint = closest(key, known);
        const message = `unknown key "${key}"${hint ? `; did you mean "${hint}"?` : known.length ? `; expected one of ${known.join(", ")}` : ""}`;
        return at(locate([...path, key], true), formatField([...path, key]), message);
      });
    case "invalid_value": {
      const got = valueAt(doc, path);
      const allowed = issue.values.map((v) => JSON.stringify(v));
      const hint =
        typeof got === "string"
          ? closest(
              got,
              issue.values.filter((v): v is string => typeof v === "string"),
            )
          : undefined;
      return [at(locate(path), field, `expected ${allowed.join(" | ")}, got ${describe(got)}${hint ? `; did you mean "${hint}"?` : ""}`)];
    }
    case "invalid_type": {
      return [at(locate(path), field, `expected ${issue.expected}, got ${describe(valueAt(doc, path))}`)];
    }
    case "invalid_union": {
      const got = valueAt(doc, path);
      if (field === "agents.presets") {
        // A list was given: report its bad entries ("did you mean"), not that the union as a whole failed.
        const inList = Array.isArray(got) ? (issue.errors.find((branch) => branch.some((i) => typeof i.path[0] === "number")) ?? []) : [];
        if (inList.length > 0) return inList.flatMap((i) => issueProblems({ ...i, path: [...path, ...i.path] }, doc, locate, at));
        return [at(locate(path), field, `expected "all" or a list of presets (${AGENT_PRESETS.join(", ")}), got ${describe(got)}`)];
      }
      return [at(locate(path), field, `${issue.message}, got ${describe(got)}`)];
    }
    default:
      return [at(locate(path), field, issue.message)];
  }
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null (an empty value)";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return `${typeof value} ${JSON.stringify(value)}`;
}

function valueAt(doc: unknown, path: readonly PathKey[]): unknown {
  let v: unknown = doc;
  for (const key of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PathKey, unknown>)[key];
  }
  return v;
}

interface SchemaDef {
  type: string;
  shape?: Record<string, { _zod: { def: SchemaDef } }>;
  innerType?: { _zod: { def: SchemaDef } };
  element?: { _zod: { def: SchemaDef } };
  valueType?: { _zod: { def: SchemaDef } };
}

/** The keys the schema allows at a path, for "did you mean" hints. */
export function knownKeysAt(path: readonly PathKey[]): string[] {
  let def = (PolicySchema as unknown as { _zod: { def: SchemaDef } })._zod.def;
  const unwrap = (d: SchemaDef): SchemaDef => {
    while ((d.type === "default" || d.type === "optional" || d.type === "nullable" || d.type === "prefault") && d.innerType) d = d.innerType._zod.def;
    return d;
  };
  for (const key of path) {
    def = unwrap(def);
    const next =
      typeof key === "number" ? def.element : def.type === "record" ? def.valueType : def.shape && Object.hasOwn(def.shape, key) ? def.shape[key] : undefined;
    if (!next) return [];
    def = next._zod.def;
  }
  def = unwrap(def);
  return def.shape ? Object.keys(def.shape) : [];
}

type Report = (path: PathKey[], message: string, severity: PolicyProblem["severity"], preferKey?: boolean) => PolicyProblem;

/** Checks that need the whole policy: references between fields, globs, and gates that could never be met. */
function semanticProblems(policy: Policy, org: Policy | undefined, report: Report): PolicyProblem[] {
  const out: PolicyProblem[] = [];
  const error = (path: PathKey[], message: string, preferKey = false) => out.push(report(path, message, "error", preferKey));
  const warn = (path: PathKey[], message: string) => out.push(report(path, message, "warning"));

  let globCount = 0;
  let expansions = 0;
  let overExpanded = false;
  const checkGlobs = (globs: readonly string[], path: PathKey[]) => {
    globs.forEach((glob, i) => {
      globCount++;
      const problem = checkGlob(glob);
      if (problem) return error([...path, i], `invalid glob ${JSON.stringify(glob)}: ${problem}`);
      expansions += braceAlternatives(glob.startsWith("!") ? glob.slice(1) : glob);
      // Reported once, at the glob that crosses the cap: the ones before it fit.
      if (expansions > POLICY_LIMITS.maxBraceExpansions && !overExpanded) {
        overExpanded = true;
        return error(
          [...path, i],
          `glob ${JSON.stringify(glob)} brings the policy's brace expansions to ${expansions}; the limit is ${POLICY_LIMITS.maxBraceExpansions.toLocaleString("en")} expansions per policy (and ${MAX_BRACE_ALTERNATIVES.toLocaleString("en")} per glob)`,
        );
      }
      const hint = rootOnlyHint(glob);
      if (hint) warn([...path, i], `${JSON.stringify(glob)} only matches files at the repository root; did you mean ${JSON.stringify(hint)}?`);
      const never = globWarning(glob);
      if (never) warn([...path, i], `${JSON.stringify(glob)} ${never.message}${never.fix ? `; did you mean ${JSON.stringify(never.fix)}?` : ""}`);
    });
  };

  for (const [name, globs] of Object.entries(policy.classes)) {
    if (!globs.some((g) => !g.startsWith("!"))) warn(["classes", name], `class "${name}" has no positive glob, so it matches nothing`);
    checkGlobs(globs, ["classes", name]);
  }

  // Names a rule may use in match.agents: presets, this file's custom agents and, combined, the org's. A repo agent
  // of an org agent's name adds to it (the definitions are unioned when compiled), so that is not a duplicate.
  const agentNames = new Set<string>(AGENT_PRESETS);
  for (const agent of org?.agents.custom ?? []) agentNames.add(agent.name);
  const ownNames = new Set<string>(AGENT_PRESETS);
  policy.agents.custom.forEach((agent, i) => {
    if (ownNames.has(agent.name)) error(["agents", "custom", i, "name"], `agent name "${agent.name}" is already used by a preset or another custom agent`);
    ownNames.add(agent.name);
    agentNames.add(agent.name);
    if (agent.logins.length + agent.branches.length + agent.labels.length === 0) {
      error(["agents", "custom", i], `custom agent "${agent.name}" needs at least one of logins, branches or labels to be recognised`);
    }
    checkGlobs(agent.branches, ["agents", "custom", i, "branches"]);
  });

  const seen = new Map<string, number>();
  const classNames = Object.keys(policy.classes);
  policy.rules.forEach((rule, i) => {
    const base: PathKey[] = ["rules", i];
    const first = seen.get(rule.id);
    if (first !== undefined) error([...base, "id"], `duplicate rule id "${rule.id}" (first used by rules[${first}])`);
    else seen.set(rule.id, i);

    if (!rule.match.classes?.length && !rule.match.paths?.length) {
      error([...base, "match"], "a rule must match at least one class or path");
    }
    rule.match.classes?.forEach((cls, j) => {
      if (!Object.hasOwn(policy.classes, cls)) {
        const hint = closest(cls, classNames);
        error(
          [...base, "match", "classes", j],
          `unknown class "${cls}"${hint ? `; did you mean "${hint}"?` : classNames.length ? `; defined classes: ${classNames.join(", ")}` : "; no classes are defined"}`,
        );
      }
    });
    if (rule.match.paths) checkGlobs(rule.match.paths, [...base, "match", "paths"]);
    rule.match.agents?.forEach((agent, j) => {
      if (!agentNames.has(agent)) {
        const hint = closest(agent, [...agentNames]);
        error([...base, "match", "agents", j], `unknown agent "${agent}"${hint ? `; did you mean "${hint}"?` : ""}`);
      }
    });

    const from = rule.active?.from;
    const until = rule.active?.until;
    if (from && until && windowStart(from) >= windowEnd(until)) {
      error([...base, "active"], `the window is empty: from ${from} is not before until ${until}`);
    }
    if (rule.action === "require_approval") {
      const approvers = rule.approvers ?? policy.default_approvers ?? policy.owners ?? org?.default_approvers ?? org?.owners;
      if (!approvers)
        error(
          [...base],
          `rule "${rule.id}" requires approval but names no approvers, and there are no default_approvers or owners${org ? " here or in the org policy" : ""}`,
        );
      else checkCount(approvers, rule.approvers ? [...base, "approvers", "count"] : [...base]);
    } else if (rule.approvers) {
      warn([...base, "approvers"], `approvers are ignored for action ${rule.action}`);
    }
  });
  if (policy.default_approvers) checkCount(policy.default_approvers, ["default_approvers", "count"]);
  if (policy.owners) checkCount(policy.owners, ["owners", "count"]);
  // Combined with an org policy, a gate this file opens may be approved by the org's people (see compile.ts).
  if (policy.default === "require_approval" && !policy.default_approvers && !policy.owners && !org?.default_approvers && !org?.owners) {
    error(["default"], `default is require_approval but there are no default_approvers or owners to approve${org ? " here or in the org policy" : ""}`);
  }
  if (policy.limits?.action === "require_approval" && !policy.owners && !org?.owners) {
    error(["limits", "action"], `limits.action require_approval needs owners to approve${org ? " (here or in the org policy)" : ""}`);
  }
  if (!policy.owners && !org?.owners)
    warn([], "no owners: changes to the policy file itself can only be approved once owners are set (here or in the org policy)");
  if (globCount > POLICY_LIMITS.maxGlobs) error([], `the policy has ${globCount} globs; the limit is ${POLICY_LIMITS.maxGlobs}`);

  function checkCount(approvers: { teams: string[]; users: string[]; count: number }, path: PathKey[]) {
    if (approvers.teams.length === 0 && approvers.count > approvers.users.length) {
      error(path, `count ${approvers.count} can never be met: only ${approvers.users.length} user(s) and no teams can approve`);
    }
  }
  return out;
}

const BUDGET_KEYS = ["max_files", "max_lines", "max_prs_per_day", "max_prs_per_week", "max_compute_minutes_per_day", "max_compute_minutes_per_week"] as const;
const ORG_BUDGET_KEYS = ["max_prs_per_day", "max_prs_per_week", "max_compute_minutes_per_day", "max_compute_minutes_per_week"] as const;

/** The budget settings a decision may cite, beyond CITED_SETTINGS: per-agent limits and the org's budgets. */
function budgetPaths(policy: Policy): PathKey[][] {
  const out: PathKey[][] = [
    ["limits", "max_prs_per_week"],
    ["limits", "max_compute_minutes_per_day"],
    ["limits", "max_compute_minutes_per_week"],
    ["limits", "max_session_minutes"],
  ];
  for (const [agent, limits] of Object.entries(policy.limits?.agents ?? {}))
    for (const key of BUDGET_KEYS) if (limits[key] !== undefined) out.push(["limits", "agents", agent, key]);
  if (policy.org_limits) {
    out.push(...ORG_BUDGET_KEYS.map((key) => ["org_limits", key]), ["org_limits", "action"]);
    for (const [agent, limits] of Object.entries(policy.org_limits.agents ?? {}))
      for (const key of ORG_BUDGET_KEYS) if (limits[key] !== undefined) out.push(["org_limits", "agents", agent, key]);
  }
  return out;
}

/**
 * Budgets name agents that must exist (a misspelt name would be a limit that silently binds nobody), and `org_limits`
 * belongs to the org policy alone: in a repo file it is an error, not ignored, so nobody believes a limit holds that does not.
 * The agent names are read from the document itself, so a key like `__proto__` that an object would swallow is still seen.
 */
function budgetProblems(doc: unknown, policy: Policy, options: LoadOptions, report: Report): PolicyProblem[] {
  const out: PolicyProblem[] = [];
  const known = new Set<string>([...AGENT_PRESETS, ...policy.agents.custom.map((a) => a.name), ...(options.org?.agents.custom ?? []).map((a) => a.name)]);
  const raw = (doc ?? {}) as Record<string, unknown>;
  const keysAt = (section: string): string[] => {
    const agents = (raw[section] as Record<string, unknown> | undefined)?.["agents"];
    return agents !== null && typeof agents === "object" ? Object.keys(agents) : [];
  };
  for (const section of ["limits", "org_limits"] as const) {
    for (const name of keysAt(section)) {
      if (known.has(name)) continue;
      const hint = closest(name, [...known]);
      out.push(
        report(
          [section, "agents", name],
          `unknown agent "${name}"${hint ? `; did you mean "${hint}"?` : `; known agents: ${[...known].join(", ")}`}`,
          "error",
          true,
        ),
      );
    }
  }
  if (policy.org_limits && options.role === "repo") {
    out.push(
      report(
        ["org_limits"],
        "org_limits is only valid in the org policy (the org's .github repository); a repository tightens them with its own limits",
        "error",
        true,
      ),
    );
  }
  if (policy.org_limits?.action === "require_approval" && !policy.owners) {
    out.push(report(["org_limits", "action"], "org_limits.action require_approval needs owners in the org policy to approve", "error"));
  }
  return out;
}
