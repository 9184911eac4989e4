// Combines an org policy and a repo policy into one compiled form: merged settings, namespaced rules, and one path matcher.
import { type AgentDefinition, customDefinition, PRESETS } from "./agents.js";
import type { PolicyRef } from "./decision.js";
import type { LoadedPolicy } from "./load.js";
import { compileMatcher, type GlobSet, type PathMatcher } from "./matcher.js";
import { type Action, AGENT_PRESETS, type Approvers, type Policy, type Rule } from "./schema.js";

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
  default: Setting<Action>;
  defaultApprovers: Setting<Approvers> | null;
  owners: Setting<Approvers> | null;
  limits: {
    max_files?: Setting<number>;
    max_lines?: Setting<number>;
    max_prs_per_day?: Setting<number>;
    action: Action;
  };
  labels: Policy["labels"];
  invalidateOnPush: boolean;
}

const SEVERITY: Record<Action, number> = { allow: 0, require_approval: 1, deny: 2 };

export function stricter(a: Action, b: Action): Action {
  return SEVERITY[b] > SEVERITY[a] ? b : a;
}

export function actionSeverity(a: Action): number {
  return SEVERITY[a];
}

function refOf(origin: PolicyOrigin, source: SourceName, line: number | undefined): PolicyRef {
  return { source, path: origin.loaded.file, ...(origin.repo ? { repo: origin.repo } : {}), ...(origin.sha ? { sha: origin.sha } : {}), line: line ?? 0 };
}

/** Merges both policies so a repo can only tighten the org's rules: stricter actions, smaller limits, rules of both. */
export function compilePolicies(sources: { org?: PolicyOrigin; repo?: PolicyOrigin }): CompiledPolicy {
  const present = (["org", "repo"] as const).flatMap((name) => {
    const origin = sources[name];
    return origin ? [{ name, origin, policy: origin.loaded.policy }] : [];
  });
  if (present.length === 0) throw new Error("compilePolicies needs at least one policy");

  const sets: GlobSet[] = [];
  const setRules: number[][] = [];
  const rules: CompiledRule[] = [];
  const agents = new Map<string, AgentDefinition>();
  let scope: "agents" | "all" = "agents";
  let defaultAction: Setting<Action> | null = null;
  let limitsAction: Action = "allow";
  let invalidateOnPush = false;
  const limits: CompiledPolicy["limits"] = { action: "deny" };

  for (const { name, origin, policy } of present) {
    const lines = origin.loaded.lines;
    if (policy.scope === "all") scope = "all";
    invalidateOnPush ||= policy.approvals.invalidate_on_push;

    const presets = policy.agents.presets === "all" ? AGENT_PRESETS : policy.agents.presets;
    for (const preset of presets) agents.set(preset, PRESETS[preset]);
    for (const custom of policy.agents.custom) agents.set(custom.name, customDefinition(custom));

    // Later sources win ties so that the repo's own line is cited when both say the same.
    const def = { value: policy.default, ref: refOf(origin, name, lines["default"]) };
    if (!defaultAction || actionSeverity(def.value) >= actionSeverity(defaultAction.value)) defaultAction = def;

    if (policy.limits) {
      limitsAction = stricter(limitsAction, policy.limits.action);
      for (const key of ["max_files", "max_lines", "max_prs_per_day"] as const) {
        const value = policy.limits[key];
        if (value === undefined) continue;
        const current = limits[key];
        if (!current || value <= current.value) limits[key] = { value, ref: refOf(origin, name, lines[`limits.${key}`]) };
      }
    }

    const classSet = new Map<string, number>();
    for (const [cls, globs] of Object.entries(policy.classes)) {
      classSet.set(cls, sets.length);
      sets.push({ patterns: globs });
      setRules.push([]);
    }
    policy.rules.forEach((rule, i) => {
      const index = rules.length;
      rules.push({ id: `${name}:${rule.id}`, source: name, rule, ref: refOf(origin, name, origin.loaded.ruleLines[i]) });
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

  // The repo's settings are preferred for who approves and how labels read, with the org's as the fallback.
  const pick = (key: "default_approvers" | "owners"): Setting<Approvers> | null => {
    for (const { name, origin, policy } of [...present].reverse()) {
      const value = policy[key];
      if (value) return { value, ref: refOf(origin, name, origin.loaded.lines[key]) };
    }
    return null;
  };
  const last = present[present.length - 1];

  return {
    scope,
    agents: [...agents.values()].sort((a, b) => customFirst(a, b)),
    rules,
    setRules,
    matcher: compileMatcher(sets),
    default: defaultAction ?? { value: "require_approval", ref: { source: "builtin", path: "", line: 0 } },
    defaultApprovers: pick("default_approvers"),
    owners: mergeOwners(present.map((p) => ({ value: p.policy.owners, ref: refOf(p.origin, p.name, p.origin.loaded.lines["owners"]) }))),
    limits,
    labels: last ? last.policy.labels : present[0]!.policy.labels,
    invalidateOnPush,
  };
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
