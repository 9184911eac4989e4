// Combines an org policy and a repo policy into one compiled form: merged settings, namespaced rules, and one path matcher.
import { type AgentDefinition, customDefinition, PRESETS, unionDefinitions } from "./agents.js";
import type { PolicyRef } from "./decision.js";
import type { LoadedPolicy } from "./load.js";
import { compileMatcher, type GlobSet, type PathMatcher } from "./matcher.js";
import { type Action, AGENT_PRESETS, type Approvers, type Mode, type Overrides, type Policy, type Rule } from "./schema.js";

export type SourceName = "org" | "repo";

export interface PolicyOrigin {
  loaded: LoadedPolicy;
  /** `owner/name` the file was read from, and the commit. */
  repo?: string;
  sha?: string;
}

export interface CompiledRule {
  id: string;
  source: SourceName;
  rule: Rule;
  ref: PolicyRef;
  /** For require_approval: who approves, resolved from the rule's own source (an org gate never takes repo approvers). */
  approvers: Approvers | null;
  /** The rule's own mode, else its file's: a repo's mode never reaches an org rule. */
  mode: Mode;
}

/** One file's `default`: it applies to a changed file that none of that file's own active rules cover. */
export interface CompiledDefault extends Setting<Action> {
  source: SourceName;
  approvers: Approvers | null;
  mode: Mode;
}

export type LimitKey = "max_files" | "max_lines" | "max_prs_per_day" | "max_prs_per_week" | "max_compute_minutes_per_day" | "max_compute_minutes_per_week";
export const LIMIT_KEYS: readonly LimitKey[] = [
  "max_files",
  "max_lines",
  "max_prs_per_day",
  "max_prs_per_week",
  "max_compute_minutes_per_day",
  "max_compute_minutes_per_week",
];
/** Limits on minutes of the agent's workflow jobs, as opposed to counts of its PRs. */
export const COMPUTE_KEYS: ReadonlySet<LimitKey> = new Set(["max_compute_minutes_per_day", "max_compute_minutes_per_week"]);
/** Limits on one PR's size, as opposed to counts of PRs over a window. */
export const PER_PR_KEYS: ReadonlySet<LimitKey> = new Set(["max_files", "max_lines"]);
const ORG_LIMIT_KEYS = ["max_prs_per_day", "max_prs_per_week", "max_compute_minutes_per_day", "max_compute_minutes_per_week"] as const;

/**
 * One budget number as written: where it is counted (`repo`: this repository's `limits`; `org`: `org_limits`, every
 * repository of the org), for which agent (null: every agent), and which file wrote it. A PR is bound by every budget
 * that names one of its agents or none; per agent and key the smallest number binds, so a file can only tighten.
 */
export interface CompiledBudget {
  scope: "repo" | "org";
  key: LimitKey;
  agent: string | null;
  source: SourceName;
  setting: Setting<number>;
}

export interface Setting<T> {
  value: T;
  ref: PolicyRef;
}

export interface CompiledPolicy {
  scope: "agents" | "all";
  agents: AgentDefinition[];
  rules: CompiledRule[];
  /** For each matcher set, the rules it stands for. */
  setRules: number[][];
  matcher: PathMatcher;
  /** Each present file's default, org first. */
  defaults: CompiledDefault[];
  /** Owners of both files: they approve a change to a policy file. */
  owners: Setting<Approvers> | null;
  /** The org's owners alone: they approve an exceeded org limit. */
  orgOwners: Setting<Approvers> | null;
  /** Who approves an exceeded limit that only the repo sets: the repo's owners, else the org's. */
  repoOwners: Setting<Approvers> | null;
  limits: {
    max_files?: Setting<number>;
    max_lines?: Setting<number>;
    max_prs_per_day?: Setting<number>;
    max_prs_per_week?: Setting<number>;
    max_compute_minutes_per_day?: Setting<number>;
    max_compute_minutes_per_week?: Setting<number>;
    action: Action;
  };
  /** The org's own numeric limits: exceeding one of these is an org gate, whatever the repo says. */
  orgLimits: Partial<Record<LimitKey, Setting<number>>>;
  /** Every budget number of both files, per agent and org-wide (see CompiledBudget), in file order, org first. */
  budgets: CompiledBudget[];
  /** What exceeding an `org_limits` budget does. */
  orgLimitsAction: "deny" | "require_approval";
  /** One agent run's longest time (the smaller of both files) and what passing it does (`cancel` if either says so). */
  session: { maxMinutes: Setting<number> | null; onOver: "report" | "cancel" };
  labels: Policy["labels"];
  invalidateOnPush: boolean;
  /** Each present file's mode: it governs that file's rules (unless a rule says otherwise), default and limits. */
  modes: Partial<Record<SourceName, Mode>>;
  /** Each present file's break-glass list: who may override the decisions of that file's rules. */
  overrides: Partial<Record<SourceName, Setting<Overrides>>>;
}

const SEVERITY: Record<Action, number> = { allow: 0, require_approval: 1, deny: 2 };

export function stricter(a: Action, b: Action): Action {
  return SEVERITY[b] > SEVERITY[a] ? b : a;
}

export function actionSeverity(a: Action): number {
  return SEVERITY[a];
}

function refOf(origin: PolicyOrigin, source: SourceName, line: number | undefined): PolicyRef {
  // Keys in canonical (sorted) order, as every part of a decision is built: see canonicalJson.
  return { line: line ?? 0, path: origin.loaded.file, ...(origin.repo ? { repo: origin.repo } : {}), ...(origin.sha ? { sha: origin.sha } : {}), source };
}

/**
 * Merges both policies so a repo can only tighten the org's (the merge rules are tabled in docs/policy.md): each file's
 * rules and default apply as if it were alone, approvers come from the file that opened the gate, limits take the
 * smaller value and the stricter action, and every switch takes its stricter setting.
 */
export function compilePolicies(sources: { org?: PolicyOrigin; repo?: PolicyOrigin }): CompiledPolicy {
  const present = (["org", "repo"] as const).flatMap((name) => {
    const origin = sources[name];
    return origin ? [{ name, origin, policy: origin.loaded.policy }] : [];
  });
  if (present.length === 0) throw new Error("compilePolicies needs at least one policy");
  const org = present.find((p) => p.name === "org");
  const setting = <T>(p: (typeof present)[number], value: T | undefined, key: string): Setting<T> | null =>
    value === undefined ? null : { value, ref: refOf(p.origin, p.name, p.origin.loaded.lines[key]) };
  const orgDefaultApprovers = org ? setting(org, org.policy.default_approvers, "default_approvers") : null;
  const orgOwners = org ? setting(org, org.policy.owners, "owners") : null;
  const owners = mergeOwners(present.map((p) => ({ value: p.policy.owners, ref: refOf(p.origin, p.name, p.origin.loaded.lines["owners"]) })));
  const repo = present.find((p) => p.name === "repo");
  const repoOwners = (repo ? setting(repo, repo.policy.owners, "owners") : null) ?? orgOwners;

  /** Who approves a gate opened by `name`'s rules or default: the org's people for the org; the repo's, else the org's, for the repo. */
  const gateApprovers = (p: (typeof present)[number]): Approvers | null =>
    p.name === "org"
      ? (p.policy.default_approvers ?? p.policy.owners ?? null)
      : (p.policy.default_approvers ?? orgDefaultApprovers?.value ?? owners?.value ?? null);

  const sets: GlobSet[] = [];
  const setRules: number[][] = [];
  const rules: CompiledRule[] = [];
  const agents = new Map<string, AgentDefinition>();
  const defaults: CompiledDefault[] = [];
  let scope: "agents" | "all" = "agents";
  let limitsAction: Action = "allow";
  let invalidateOnPush = false;
  const limits: CompiledPolicy["limits"] = { action: "deny" };
  const orgLimits: CompiledPolicy["orgLimits"] = {};
  const budgets: CompiledBudget[] = [];
  let orgLimitsAction: "deny" | "require_approval" = "deny";
  const session: CompiledPolicy["session"] = { maxMinutes: null, onOver: "report" };
  const modes: CompiledPolicy["modes"] = {};
  const overrides: CompiledPolicy["overrides"] = {};

  for (const p of present) {
    const { name, origin, policy } = p;
    const lines = origin.loaded.lines;
    if (policy.scope === "all") scope = "all";
    invalidateOnPush ||= policy.approvals.invalidate_on_push;
    modes[name] = policy.mode;
    if (policy.overrides) overrides[name] = { value: policy.overrides, ref: refOf(origin, name, lines["overrides"]) };

    const presets = policy.agents.presets === "all" ? AGENT_PRESETS : policy.agents.presets;
    for (const preset of presets) agents.set(preset, PRESETS[preset]);
    for (const custom of policy.agents.custom) {
      const def = customDefinition(custom);
      const known = agents.get(custom.name);
      agents.set(custom.name, known ? unionDefinitions(known, def) : def);
    }

    const fallback = gateApprovers(p);
    defaults.push({ source: name, value: policy.default, ref: refOf(origin, name, lines["default"]), approvers: fallback, mode: policy.mode });

    if (policy.limits) {
      limitsAction = stricter(limitsAction, policy.limits.action);
      for (const key of LIMIT_KEYS) {
        const value = policy.limits[key];
        if (value === undefined) continue;
        if (name === "org") orgLimits[key] = { value, ref: refOf(origin, name, lines[`limits.${key}`]) };
        const current = limits[key];
        // Ties cite the org's line: its owners approve a limit both files set.
        if (!current || value < current.value) limits[key] = { value, ref: refOf(origin, name, lines[`limits.${key}`]) };
      }
    }
    const maxSession = policy.limits?.max_session_minutes;
    if (maxSession !== undefined && (!session.maxMinutes || maxSession < session.maxMinutes.value))
      session.maxMinutes = { value: maxSession, ref: refOf(origin, name, lines["limits.max_session_minutes"]) };
    if (policy.limits?.on_session_over === "cancel") session.onOver = "cancel";
    const budget = (scope: "repo" | "org", key: LimitKey, agent: string | null, value: number | undefined, line: string) => {
      if (value !== undefined) budgets.push({ scope, key, agent, source: name, setting: { value, ref: refOf(origin, name, lines[line]) } });
    };
    for (const key of LIMIT_KEYS) budget("repo", key, null, policy.limits?.[key], `limits.${key}`);
    for (const [agent, own] of Object.entries(policy.limits?.agents ?? {}))
      for (const key of LIMIT_KEYS) budget("repo", key, agent, own[key], `limits.agents.${agent}.${key}`);
    // org_limits only ever comes from the org file (a repo file that writes it does not load).
    if (name === "org" && policy.org_limits) {
      orgLimitsAction = policy.org_limits.action;
      for (const key of ORG_LIMIT_KEYS) budget("org", key, null, policy.org_limits[key], `org_limits.${key}`);
      for (const [agent, own] of Object.entries(policy.org_limits.agents ?? {}))
        for (const key of ORG_LIMIT_KEYS) budget("org", key, agent, own[key], `org_limits.agents.${agent}.${key}`);
    }

    // Class names are looked up in a Map: a class called "constructor" or "__proto__" is a name like any other.
    const classSet = new Map<string, number>();
    for (const [cls, globs] of Object.entries(policy.classes)) {
      classSet.set(cls, sets.length);
      sets.push({ patterns: globs });
      setRules.push([]);
    }
    policy.rules.forEach((rule, i) => {
      const index = rules.length;
      const approvers = rule.action === "require_approval" ? (rule.approvers ?? fallback) : null;
      rules.push({
        id: `${name}:${rule.id}`,
        source: name,
        rule,
        ref: refOf(origin, name, origin.loaded.ruleLines[i]),
        approvers,
        mode: rule.mode ?? policy.mode,
      });
      for (const cls of rule.match.classes ?? []) {
        const set = classSet.get(cls);
        if (set !== undefined) setRules[set]?.push(index);
      }
      if (rule.match.paths?.length) {
        sets.push({ patterns: rule.match.paths });
        setRules.push([index]);
      }
    });
  }
  limits.action = limitsAction === "allow" ? "deny" : limitsAction;

  return {
    scope,
    agents: [...agents.values()].sort((a, b) => customFirst(a, b)),
    rules,
    setRules,
    matcher: compileMatcher(sets),
    defaults,
    owners,
    orgOwners,
    repoOwners,
    limits,
    orgLimits,
    budgets,
    orgLimitsAction,
    session,
    labels: mergeLabels(present.map((p) => ({ labels: p.policy.labels, written: p.origin.loaded.lines }))),
    invalidateOnPush,
    modes,
    overrides,
  };
}

/** Each outcome label: the org's when the org file writes it (repos cannot rename what org automation keys on), else the repo's. */
function mergeLabels(files: Array<{ labels: Policy["labels"]; written: Record<string, number> }>): Policy["labels"] {
  const [first, second] = files;
  if (!first) throw new Error("mergeLabels needs a policy");
  if (!second) return first.labels;
  const pick = (key: keyof Policy["labels"]) => (first.written[`labels.${key}`] !== undefined ? first.labels[key] : second.labels[key]);
  return { allowed: pick("allowed"), needs_approval: pick("needs_approval"), denied: pick("denied") };
}

/** Owners of both files may approve a policy change; the larger count applies. */
function mergeOwners(candidates: Array<{ value: Approvers | undefined; ref: PolicyRef }>): Setting<Approvers> | null {
  let merged: Setting<Approvers> | null = null;
  for (const { value, ref } of candidates) {
    if (!value) continue;
    merged = merged
      ? {
          value: {
            teams: [...new Set([...merged.value.teams, ...value.teams])],
            users: [...new Set([...merged.value.users, ...value.users])],
            count: Math.max(merged.value.count, value.count),
            // Contributors may approve only if every file that names owners says so: fail closed.
            allow_contributors: merged.value.allow_contributors && value.allow_contributors,
          },
          ref,
        }
      : { value, ref };
  }
  return merged;
}

const PRESET_NAMES: readonly string[] = AGENT_PRESETS;
function customFirst(a: AgentDefinition, b: AgentDefinition): number {
  const ai = PRESET_NAMES.indexOf(a.name);
  const bi = PRESET_NAMES.indexOf(b.name);
  if (ai === -1 && bi === -1) return 0;
  if (ai === -1) return -1;
  if (bi === -1) return 1;
  return ai - bi;
}
