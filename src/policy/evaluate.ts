// evaluate(policy, change, context) -> decision: pure and deterministic, the same inputs give the same bytes.
import { identifyAgents, isAutomatedAccount } from "./agents.js";
import type { Change, EvalContext, Review } from "./change.js";
import {
  actionSeverity,
  type CompiledBudget,
  type CompiledDefault,
  type CompiledPolicy,
  type CompiledRule,
  COMPUTE_KEYS,
  LIMIT_KEYS,
  type LimitKey,
  PER_PR_KEYS,
} from "./compile.js";
import {
  type AgentIdentity,
  type AppliedRule,
  type Decision,
  DECISION_SCHEMA,
  EVALUATOR_VERSION,
  type IgnoredCode,
  type LimitResult,
  type Outcome,
  type Coded,
  type Params,
  type PolicyRef,
} from "./decision.js";
import { isActive } from "./windows.js";
import { isPolicyFile } from "./paths.js";
import type { Action, Approvers, Rule } from "./schema.js";

/** GitHub's files API lists at most this many files; a larger PR cannot be fully seen. */
export const GITHUB_FILE_LIST_LIMIT = 3000;

interface PendingRule {
  id: string;
  action: Action;
  files: Set<string>;
  reason?: string;
  code?: string;
  params?: Params;
  escalate?: string;
  escalation?: Coded;
  ref: PolicyRef;
  approvers?: Approvers;
  /** Observe mode: recorded and shown, never deciding. */
  observe?: true;
  order: number;
}

const BUILTIN_REF: PolicyRef = { line: 0, path: "", source: "builtin" };
/** A gate nobody can meet: what a require_approval falls back to when no approvers are configured anywhere. */
const NO_APPROVERS: Approvers = { teams: [], users: [], count: 1, allow_contributors: false };

export function evaluate(policy: CompiledPolicy, change: Change, context: EvalContext): Decision {
  // Every matching agent binds the PR: its rules and its budget apply, and the strictest outcome wins.
  const agents = identifyAgents(policy.agents, change);
  if (agents.length === 0 && policy.scope === "agents") {
    return finish({
      outcome: "not_governed",
      agents,
      change,
      rules: [],
      unmatched: [],
      limits: [],
      cause: { code: "no_agent_matched", params: { author: change.author.login } },
    });
  }
  const agentNames = new Set(agents.map((a) => a.name));
  const pending = new Map<string, PendingRule>();
  const add = (key: string, make: () => Omit<PendingRule, "files" | "order">, file?: string) => {
    let entry = pending.get(key);
    if (!entry) {
      // Every field present (undefined when unset): one object shape for all, no spreads on the hot path.
      const m = make();
      entry = {
        id: m.id,
        action: m.action,
        files: new Set(),
        reason: m.reason,
        code: m.code,
        params: m.params,
        escalate: m.escalate,
        escalation: m.escalation,
        ref: m.ref,
        approvers: m.approvers,
        observe: m.observe,
        order: pending.size,
      };
      pending.set(key, entry);
    }
    if (file !== undefined) entry.files.add(file);
  };
  const escalation = ownersEscalation(policy);

  // A file list GitHub cut short cannot be judged: deny rather than pass what was not seen.
  const total = Math.max(change.total_files ?? change.files.length, change.files.length);
  // Without the PR's own count, a list as long as GitHub's cap may have been cut short too.
  const unknownBeyondCap = change.total_files === undefined && change.files.length >= GITHUB_FILE_LIST_LIMIT;
  if (total > change.files.length || total > GITHUB_FILE_LIST_LIMIT || unknownBeyondCap) {
    add("builtin:incomplete-file-list", () => ({
      id: "builtin:incomplete-file-list",
      action: "deny",
      ref: BUILTIN_REF,
      code: "incomplete_file_list",
      params: { cap: GITHUB_FILE_LIST_LIMIT, listed: change.files.length, total: unknownBeyondCap ? null : total },
      escalation,
    }));
  }

  const now = Date.parse(context.now);
  const activeRules = policy.rules.map((r) => isActive(r.rule, now) && appliesToAgents(r.rule, agentNames));
  const unmatched = new Set<string>();
  const defaultsEnforced = policy.defaults.every((d) => d.mode === "enforce");

  for (const path of changedPaths(change)) {
    const covering = new Set<number>();
    for (const set of policy.matcher.match(path)) for (const r of policy.setRules[set] ?? []) if (activeRules[r]) covering.add(r);
    if (covering.size === 0) unmatched.add(path);
    // The enforced view decides; the full view (observe-mode parts too) is what enforcing everything would decide.
    // Each is judged on its own, so an observe-mode rule covering a file never lifts an enforced default there.
    const all = [...covering];
    const enforcing = all.filter((r) => policy.rules[r]!.mode === "enforce");
    const enforced = judgePath(enforcing, (d) => d.mode === "enforce");
    // With nothing in observe mode here, both views are judged from the same rules and defaults: the same result.
    const full = defaultsEnforced && enforcing.length === all.length ? enforced : judgePath(all, () => true);
    for (const r of enforced.rules) addRule(policy.rules[r]!, path);
    for (const d of enforced.defaults) addDefault(d, path);
    if (full.severity > enforced.severity) {
      for (const r of full.rules) if (policy.rules[r]!.mode === "observe") addRule(policy.rules[r]!, path);
      for (const d of full.defaults) if (d.mode === "observe") addDefault(d, path);
    }
    if (isPolicyFile(path, change.repo.name)) {
      add(
        "builtin:policy-change",
        () => ({
          id: "builtin:policy-change",
          action: "require_approval",
          ref: policy.owners?.ref ?? BUILTIN_REF,
          code: "policy_file_changed",
          params: {},
          escalation,
          approvers: policy.owners?.value ?? NO_APPROVERS,
        }),
        path,
      );
    }
  }

  /** The rules and defaults that decide one path among `covering`: the strictest; each file's default where none of its own rules cover. */
  function judgePath(covering: number[], counts: (d: CompiledDefault) => boolean): { severity: number; rules: number[]; defaults: CompiledDefault[] } {
    // Each file's default applies where none of that file's own rules cover the path, so a repo rule never lifts the org's default.
    const coveredBy = new Set(covering.map((r) => policy.rules[r]!.source));
    const defaults = policy.defaults.filter((d) => counts(d) && !coveredBy.has(d.source));
    const severity = Math.max(-1, ...covering.map((r) => actionSeverity(policy.rules[r]!.rule.action)), ...defaults.map((d) => actionSeverity(d.value)));
    return {
      severity,
      rules: covering.filter((r) => actionSeverity(policy.rules[r]!.rule.action) === severity).sort((a, b) => a - b),
      // An allowing default is only shown for files no rule covers: elsewhere it adds nothing to the decision.
      defaults: defaults.filter((d) => actionSeverity(d.value) === severity && (d.value !== "allow" || covering.length === 0)),
    };
  }

  const { results: limits, exceeded } = checkLimits(policy, change, context, agents);
  for (const [id, over] of exceeded) {
    // Past the org's own number it is the org's gate: only the org's owners approve it, whatever the repo names.
    const orgGate = over.some((o) => o.orgGate);
    const first = over[0]!;
    const action = first.row.scope === "org" ? policy.orgLimitsAction : policy.limits.action;
    const owners = orgGate ? policy.orgOwners : policy.repoOwners;
    const source = first.ref.source === "org" || first.ref.source === "repo" ? first.ref.source : null;
    add(id, () => ({
      id,
      action,
      ref: first.ref,
      // A limit set by a file in observe mode is recorded, never enforced.
      observe: source && policy.modes[source] === "observe" ? true : undefined,
      // The renderer phrases every exceeded row of this id from decision.limits; params name the first.
      code: "limit_exceeded",
      params: {
        agent: first.row.agent ?? null,
        key: first.key,
        limit: first.row.limit,
        scope: first.row.scope ?? "repo",
        share: first.row.share ?? 0,
        used: first.row.used ?? 0,
      },
      escalation,
      approvers: action === "require_approval" ? (owners?.value ?? NO_APPROVERS) : undefined,
    }));
  }

  const definitions = policy.agents;
  const applied: AppliedRule[] = [...pending.values()]
    .sort((a, b) => a.order - b.order)
    .map((p) => {
      const gate =
        p.action === "require_approval" && p.approvers
          ? judgeGate(p.approvers, change, policy.invalidateOnPush, (login, type) => isAutomatedAccount(login, type, definitions))
          : undefined;
      // Keys added in canonical (sorted) order, see canonicalJson; assigned rather than spread, which is slower.
      const rule: Partial<AppliedRule> = { action: p.action };
      if (p.code !== undefined) rule.code = p.code;
      if (p.escalate !== undefined) rule.escalate = p.escalate;
      if (p.escalation !== undefined) rule.escalation = p.escalation;
      rule.files = [...p.files].sort();
      if (gate) rule.gate = gate;
      rule.id = p.id;
      if (p.observe) rule.mode = "observe";
      if (p.code !== undefined) rule.params = p.params ?? {};
      rule.policy_ref = p.ref;
      if (p.reason !== undefined) rule.reason = p.reason;
      return rule as AppliedRule;
    });

  const override = applyOverrides(policy, change, applied);
  const enforcedRules = applied.filter((r) => r.mode !== "observe" && r.overridden_by === undefined);
  const outcome = outcomeOf(enforcedRules);
  const wouldBe = outcomeOf(applied.filter((r) => r.overridden_by === undefined));
  const observed = wouldBe !== outcome ? { outcome: wouldBe, rules: applied.filter((r) => r.mode === "observe" && blocks(r)).map((r) => r.id) } : undefined;
  return finish({
    outcome,
    agents,
    change,
    rules: applied,
    unmatched: [...unmatched].sort(),
    limits,
    ...(observed ? { observed } : {}),
    ...(override && outcome === "allowed" ? { override } : {}),
  });

  function addRule(compiled: CompiledRule, path: string) {
    const rule = compiled.rule;
    add(
      compiled.id,
      () => ({
        id: compiled.id,
        action: rule.action,
        ref: compiled.ref,
        observe: compiled.mode === "observe" ? true : undefined,
        reason: rule.reason,
        escalate: rule.escalate,
        escalation: rule.escalate !== undefined ? undefined : escalation,
        approvers: rule.action === "require_approval" ? (compiled.approvers ?? NO_APPROVERS) : undefined,
      }),
      path,
    );
  }

  function addDefault(setting: CompiledDefault, path: string) {
    const action = setting.value;
    const id = `${setting.source}.default`;
    add(
      id,
      () => ({
        id,
        action,
        ref: setting.ref,
        observe: setting.mode === "observe" ? true : undefined,
        code: "default",
        params: { action, source: policy.defaults.length > 1 ? setting.source : null },
        escalation,
        approvers: action === "require_approval" ? (setting.approvers ?? NO_APPROVERS) : undefined,
      }),
      path,
    );
  }
}

/** A rule that keeps the PR from passing: a denial, or a gate not met. */
function blocks(rule: AppliedRule): boolean {
  return rule.action === "deny" || (rule.gate !== undefined && !rule.gate.met);
}

function outcomeOf(rules: readonly AppliedRule[]): Outcome {
  return rules.some((r) => r.action === "deny") ? "denied" : rules.some((r) => r.gate && !r.gate.met) ? "needs_approval" : "allowed";
}

/** Whose `overrides` may lift a rule: its own file's; a built-in rule's is the org's when there is an org policy. */
function overrideSource(rule: AppliedRule, policy: CompiledPolicy): "org" | "repo" {
  if (rule.policy_ref.source === "org" || rule.policy_ref.source === "repo") return rule.policy_ref.source;
  return policy.modes.org !== undefined ? "org" : "repo";
}

/**
 * Break-glass overrides given for this head commit lift the enforced blocking rules of the file whose `overrides`
 * named the person, and only those (marked `overridden_by`). Returns what was lifted, or null.
 */
function applyOverrides(policy: CompiledPolicy, change: Change, rules: AppliedRule[]): NonNullable<Decision["override"]> | null {
  const current = change.overrides.filter((o) => o.head_sha === change.head_sha && o.head_sha !== "");
  if (current.length === 0) return null;
  const lifted: string[] = [];
  const by = new Set<string>();
  rules.forEach((rule, i) => {
    if (rule.mode === "observe" || !blocks(rule)) return;
    const source = overrideSource(rule, policy);
    const o = current.find((x) => x.source === source);
    if (!o) return;
    // Rebuilt with the key in its canonical (sorted) place: see canonicalJson.
    const { params, policy_ref, reason, ...before } = rule;
    rules[i] = { ...before, overridden_by: o.by, ...(params ? { params } : {}), policy_ref, ...(reason !== undefined ? { reason } : {}) };
    lifted.push(rule.id);
    by.add(o.by);
  });
  if (lifted.length === 0) return null;
  const used = current.filter((o) => by.has(o.by));
  return {
    at:
      used
        .map((o) => o.at)
        .sort()
        .at(-1) ?? "",
    by: [...by].sort(),
    reason: used.map((o) => o.reason).join("; "),
    rules: lifted,
  };
}

/** Each file's path, and for a rename or copy its old path too: moving a file out of a protected place is a change to that place. */
export function changedPaths(change: Change): string[] {
  const paths = new Set<string>();
  for (const file of change.files) {
    paths.add(file.path);
    if (file.previous_path) paths.add(file.previous_path);
  }
  return [...paths].sort();
}

function appliesToAgents(rule: Rule, agents: ReadonlySet<string>): boolean {
  if (!rule.match.agents) return true;
  return rule.match.agents.some((name) => agents.has(name));
}

/** Whom to ask when a rule names no `escalate`, as a code the renderers phrase (src/report/phrases.ts escalationText). */
function ownersEscalation(policy: CompiledPolicy): Coded {
  const owners = policy.owners?.value;
  const who = owners ? [...owners.teams.map((t) => `@${t}`), ...owners.users.map((u) => `@${u}`)] : [];
  return who.length > 0 ? { code: "policy_owners", params: { owners: who.join(", ") } } : { code: "repo_admins", params: {} };
}

interface Exceeded {
  key: LimitKey;
  row: LimitResult;
  ref: PolicyRef;
  /** The number passed is the org file's own (or no smaller than it): the org's owners approve. */
  orgGate: boolean;
}

/** A compiled policy's budgets by scope and key, in their order: grouped once per policy, not filtered on every decision. */
const budgetGroups = new WeakMap<CompiledPolicy, Record<"repo" | "org", Map<LimitKey, CompiledBudget[]>>>();
const NO_BUDGETS: readonly CompiledBudget[] = [];
function budgetsOf(policy: CompiledPolicy, scope: "repo" | "org", key: LimitKey): readonly CompiledBudget[] {
  let groups = budgetGroups.get(policy);
  if (!groups) {
    groups = { repo: new Map(), org: new Map() };
    for (const b of policy.budgets) {
      const byKey = groups[b.scope];
      (byKey.get(b.key) ?? byKey.set(b.key, []).get(b.key)!).push(b);
    }
    budgetGroups.set(policy, groups);
  }
  return groups[scope].get(key) ?? NO_BUDGETS;
}

/**
 * Every budget that applies, one row per scope, key and agent (per-PR keys: one row, the binding agent's). Each agent
 * is bound by the numbers that name it or no agent, and the smallest of them binds. Counts are this PR's reserved place
 * in the agent's window (see AuditSink.reserveAgentPr); an input without a place for a window falls back to the
 * nearest one it has (org to repo, week to day, then prs_today), as inputs stored before that window existed do.
 */
function checkLimits(
  policy: CompiledPolicy,
  change: Change,
  context: EvalContext,
  agents: readonly AgentIdentity[],
): { results: LimitResult[]; exceeded: Map<string, Exceeded[]> } {
  const out: LimitResult[] = [];
  const exceeded = new Map<string, Exceeded[]>();
  const names: Array<string | null> = agents.length === 0 ? [null] : agents.map((a) => a.name);
  const usage = context.usage;
  const place = (map: Record<string, number>, agent: string | null): number | undefined =>
    agent !== null && Object.hasOwn(map, agent) ? map[agent] : undefined;
  const position = (scope: "repo" | "org", key: LimitKey, agent: string | null): number => {
    const repoDay = place(usage.prs_by_agent, agent) ?? usage.prs_today;
    const repoWeek = place(usage.prs_by_agent_week, agent) ?? repoDay;
    if (scope === "repo") return key === "max_prs_per_week" ? repoWeek : repoDay;
    const orgDay = place(usage.org_prs_by_agent, agent) ?? repoDay;
    return key === "max_prs_per_week" ? (place(usage.org_prs_by_agent_week, agent) ?? Math.max(orgDay, repoWeek)) : orgDay;
  };
  const minutes = (scope: "repo" | "org", key: LimitKey, agent: string | null): number => {
    const m = usage.compute_minutes;
    if (!m || agent === null) return 0;
    const map =
      scope === "repo" ? (key === "max_compute_minutes_per_week" ? m.repo_week : m.repo_day) : key === "max_compute_minutes_per_week" ? m.org_week : m.org_day;
    return Object.hasOwn(map, agent) ? map[agent]! : 0;
  };
  const size: Record<"max_files" | "max_lines", number> = {
    max_files: Math.max(change.total_files ?? 0, change.files.length),
    max_lines: change.files.reduce((n, f) => n + f.additions + f.deletions, 0),
  };
  for (const scope of ["repo", "org"] as const) {
    for (const key of LIMIT_KEYS) {
      const all = budgetsOf(policy, scope, key);
      if (all.length === 0) continue;
      const id = `${scope === "repo" ? "limits" : "org_limits"}.${key}`;
      const bind = (agent: string | null, candidates: CompiledBudget[], used: number, share: number) => {
        // The smallest number binds; on a tie the org's (its owners approve) and the one for every agent.
        const best = candidates.reduce((a, b) => (b.setting.value < a.setting.value ? b : a));
        const orgValue = Math.min(...candidates.filter((c) => c.source === "org").map((c) => c.setting.value));
        const actual = used + share;
        const row: LimitResult = {
          actual,
          agent: best.agent ?? agent,
          exceeded: actual > best.setting.value,
          id,
          limit: best.setting.value,
          scope,
          share,
          used,
        };
        out.push(row);
        if (row.exceeded)
          (exceeded.get(id) ?? exceeded.set(id, []).get(id)!).push({ key, row, ref: best.setting.ref, orgGate: scope === "org" || actual > orgValue });
      };
      if (PER_PR_KEYS.has(key)) {
        const candidates = all.filter((b) => b.agent === null || names.includes(b.agent));
        if (candidates.length > 0) bind(null, candidates, 0, size[key as "max_files" | "max_lines"]);
        continue;
      }
      for (const agent of names) {
        const candidates = all.filter((b) => b.agent === null || b.agent === agent);
        if (candidates.length === 0) continue;
        if (COMPUTE_KEYS.has(key)) {
          // Minutes already burnt: the total in the window, of which this PR's branch's runs are its share.
          const total = minutes(scope, key, agent);
          const ofPr = key === "max_compute_minutes_per_week" ? usage.compute_minutes?.pr_week : usage.compute_minutes?.pr_day;
          const share = Math.min(total, agent !== null && ofPr && Object.hasOwn(ofPr, agent) ? ofPr[agent]! : 0);
          bind(agent, candidates, total - share, share);
        } else {
          bind(agent, candidates, Math.max(0, position(scope, key, agent) - 1), 1);
        }
      }
    }
  }
  return { results: out, exceeded };
}

/**
 * A gate is met when `count` distinct eligible people approved and no eligible person's latest review requests changes.
 * Eligible: named users and members of named teams, never the PR author, a bot or an agent, nor (unless the gate
 * says `allow_contributors`) anyone who authored, committed or pushed to the PR: approvals come from reviewers.
 * A contributor who is an approver still holds the gate by requesting changes: a hold only ever makes it stricter.
 */
export function judgeGate(
  approvers: Approvers,
  change: Change,
  invalidateOnPush: boolean,
  isAutomated: (login: string, type: string) => boolean,
): NonNullable<AppliedRule["gate"]> {
  const lower = (s: string) => s.toLowerCase();
  const named = new Set(approvers.users.map(lower));
  for (const team of approvers.teams) for (const member of change.team_members[team] ?? []) named.add(lower(member));

  const contributors = new Set(approvers.allow_contributors ? [] : change.contributors.map(lower));
  const latest = latestReviews(change.reviews);
  const approvedBy: string[] = [];
  const changesRequestedBy: string[] = [];
  const ignored: Array<{ login: string; code: IgnoredCode }> = [];
  for (const review of latest) {
    const login = review.user.login;
    const why: IgnoredCode | null =
      lower(login) === lower(change.author.login)
        ? "author"
        : isAutomated(login, review.user.type)
          ? "automated"
          : !named.has(lower(login))
            ? "not_approver"
            : null;
    if (review.state === "APPROVED") {
      if (why) ignored.push({ code: why, login });
      else if (contributors.has(lower(login))) ignored.push({ code: "contributor", login });
      else if (invalidateOnPush && review.commit_id !== change.head_sha) ignored.push({ code: "stale", login });
      else approvedBy.push(login);
    } else if (review.state === "CHANGES_REQUESTED" && !why) {
      changesRequestedBy.push(login);
    }
  }
  approvedBy.sort();
  changesRequestedBy.sort();
  ignored.sort((a, b) => byCodePoint(a.login, b.login));
  return {
    approved_by: approvedBy,
    approvers: { count: approvers.count, teams: [...approvers.teams], users: [...approvers.users] },
    changes_requested_by: changesRequestedBy,
    ignored,
    met: approvedBy.length >= approvers.count && changesRequestedBy.length === 0,
  };
}

/** Each reviewer's latest deciding review: comments do not change a verdict, a dismissal clears it. */
export function latestReviews(reviews: readonly Review[]): Review[] {
  const ordered = [...reviews].sort((a, b) => byCodePoint(a.submitted_at ?? "", b.submitted_at ?? "") || a.id - b.id);
  const byUser = new Map<string, Review>();
  for (const review of ordered) {
    const key = review.user.login.toLowerCase();
    if (review.state === "APPROVED" || review.state === "CHANGES_REQUESTED") byUser.set(key, review);
    else if (review.state === "DISMISSED") byUser.delete(key);
  }
  return [...byUser.values()].sort((a, b) => byCodePoint(a.user.login, b.user.login));
}

interface Finish {
  outcome: Outcome;
  /** Every matching agent, the primary first. */
  agents: AgentIdentity[];
  change: Change;
  rules: AppliedRule[];
  unmatched: string[];
  limits: LimitResult[];
  cause?: Decision["cause"];
  observed?: Decision["observed"];
  override?: Decision["override"];
}

function finish(f: Finish): Decision {
  // `gates` counts every gate (the app reads reviews for observe-mode gates too); renderers tell what decides.
  const allGates = f.rules.filter((r) => r.gate);
  // Keys added in canonical (sorted) order at every depth, so that canonicalJson writes it with JSON.stringify.
  const decision: Partial<Decision> = { agent: f.agents[0] ?? null, agents: f.agents };
  if (f.cause) decision.cause = f.cause;
  decision.errors = [];
  decision.evaluator_version = EVALUATOR_VERSION;
  decision.files_considered = f.change.files.length;
  decision.gates = { met: allGates.filter((r) => r.gate?.met).length, total: allGates.length };
  decision.head_sha = f.change.head_sha;
  decision.limits = f.limits;
  if (f.observed) decision.observed = f.observed;
  decision.outcome = f.outcome;
  if (f.override) decision.override = f.override;
  decision.rules = f.rules;
  decision.schema = DECISION_SCHEMA;
  decision.unmatched_files = f.unmatched;
  return decision as Decision;
}

/** Order by code point: localeCompare would make the decision's bytes depend on the host's locale (LANG=da_DK sorts "aa" after "z"). */
function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
