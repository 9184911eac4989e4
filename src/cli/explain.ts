// `governor explain`: for each path, the classes and rules that cover it, for which agents, with which action and
// approvers, and why (the rule's policy line), from the same compiled policy and matcher the evaluator uses.
import { compilePolicies, type CompiledPolicy, type PolicyOrigin, actionSeverity, type SourceName } from "../policy/compile.js";
import type { PolicyRef } from "../policy/decision.js";
import type { EvaluationInput } from "../policy/input.js";
import { loadPolicy, type PolicyProblem, windowEnd, windowStart } from "../policy/load.js";
import { compileMatcher, type PathMatcher } from "../policy/matcher.js";
import { isPolicyFile } from "../policy/paths.js";
import type { Action, Approvers } from "../policy/schema.js";

export interface RuleCover {
  id: string;
  action: Action;
  /** The agents the rule is limited to, or null for every agent. */
  agents: string[] | null;
  /** Whether the rule's `active` window contains `now`; an inactive rule decides nothing. */
  active: boolean;
  window?: { from?: string; until?: string };
  approvers?: Approvers;
  reason?: string;
  escalate?: string;
  /** How the rule reaches the path: `class tests`, `paths`. */
  via: string[];
  ref: PolicyRef;
}

export interface Verdict {
  agents: string[];
  action: Action;
  /** The rules whose action wins for these agents; `default` when no rule covers the path. */
  rules: string[];
}

export interface PathExplanation {
  path: string;
  classes: Array<{ name: string; source: SourceName }>;
  rules: RuleCover[];
  /** The path is a governance policy file: whatever the rules say, the owners must approve (builtin:policy-change). */
  policy_file: boolean;
  /** What each agent would get for a change to this path alone, grouped by outcome (limits aside). */
  verdicts: Verdict[];
}

export type Explained =
  | { ok: true; compiled: CompiledPolicy; classGlobs: Record<SourceName, Record<string, string[]>>; explain: (path: string) => PathExplanation }
  | { ok: false; errors: PolicyProblem[] };

/** Compiles the policies and returns an explainer; `agent` narrows the verdicts to one agent. */
export function explainer(policies: EvaluationInput["policies"], opts: { now: string; repoName: string; agent?: string }): Explained {
  const origins: { org?: PolicyOrigin; repo?: PolicyOrigin } = {};
  const classMatchers: Array<{ source: SourceName; names: string[]; matcher: PathMatcher }> = [];
  const errors: PolicyProblem[] = [];
  const classGlobs: Record<SourceName, Record<string, string[]>> = { org: {}, repo: {} };
  for (const name of ["org", "repo"] as const) {
    const source = policies[name];
    if (!source) continue;
    const result = loadPolicy(source.text, source.repo ? `${source.repo}:${source.path}` : source.path);
    if (!result.ok) {
      errors.push(...result.errors);
      continue;
    }
    origins[name] = {
      loaded: { ...result.loaded, file: source.path },
      ...(source.repo ? { repo: source.repo } : {}),
      ...(source.sha ? { sha: source.sha } : {}),
    };
    classGlobs[name] = result.loaded.policy.classes;
    const classes = Object.entries(result.loaded.policy.classes);
    classMatchers.push({ source: name, names: classes.map(([n]) => n), matcher: compileMatcher(classes.map(([, patterns]) => ({ patterns }))) });
  }
  if (errors.length > 0) return { ok: false, errors };
  if (!origins.org && !origins.repo)
    return { ok: false, errors: [{ severity: "error", file: "", line: 0, column: 0, field: "", message: "no policy to explain" }] };
  const compiled = compilePolicies(origins);
  const now = Date.parse(opts.now);
  // The escalation the evaluator gives a rule that names none (evaluate.ts: ownersEscalation).
  const owners = compiled.owners?.value;
  const ownerList = owners ? [...owners.teams.map((t) => `@${t}`), ...owners.users.map((u) => `@${u}`)] : [];
  const fallbackEscalation =
    ownerList.length > 0 ? `Ask the policy owners: ${ownerList.join(", ")}` : "Ask the repository administrators (the policy names no owners)";
  const agentNames = opts.agent ? [opts.agent] : compiled.agents.map((a) => a.name);

  const explain = (path: string): PathExplanation => {
    const classes = classMatchers.flatMap(({ source, names, matcher }) => matcher.match(path).map((i) => ({ name: names[i]!, source })));
    const covering = new Set<number>();
    for (const set of compiled.matcher.match(path)) for (const r of compiled.setRules[set] ?? []) covering.add(r);
    const rules: RuleCover[] = [...covering]
      .sort((a, b) => a - b)
      .map((index) => {
        const { id, rule, ref, source, approvers: resolved } = compiled.rules[index]!;
        const inClass = (rule.match.classes ?? []).filter((c) => classes.some((k) => k.source === source && k.name === c));
        const active = (!rule.active?.from || now >= windowStart(rule.active.from)) && (!rule.active?.until || now < windowEnd(rule.active.until));
        const approvers = resolved ?? undefined;
        return {
          id,
          action: rule.action,
          agents: rule.match.agents ?? null,
          active,
          ...(rule.active ? { window: rule.active } : {}),
          ...(approvers ? { approvers } : {}),
          ...(rule.reason !== undefined ? { reason: rule.reason } : {}),
          ...(rule.action !== "allow" ? { escalate: rule.escalate ?? fallbackEscalation } : {}),
          via: inClass.length > 0 ? inClass.map((c) => `class ${c}`) : ["paths"],
          ref,
        };
      });
    const policyFile = isPolicyFile(path, opts.repoName);
    const groups = new Map<string, Verdict>();
    for (const agent of agentNames) {
      const applying = rules.filter((r) => r.active && (r.agents === null || r.agents.includes(agent)));
      // As in the evaluator: each file's default applies where none of that file's own rules cover the path.
      const candidates = [
        ...applying.map((r) => ({ id: r.id, action: r.action })),
        ...compiled.defaults.filter((d) => !applying.some((r) => r.id.startsWith(`${d.source}:`))).map((d) => ({ id: `${d.source}.default`, action: d.value })),
      ];
      const top = Math.max(...candidates.map((r) => actionSeverity(r.action)));
      const winners = candidates.filter((r) => actionSeverity(r.action) === top);
      let verdict: Omit<Verdict, "agents"> = { action: winners[0]!.action, rules: winners.map((r) => r.id) };
      if (policyFile && actionSeverity(verdict.action) <= actionSeverity("require_approval")) {
        verdict = { action: "require_approval", rules: [...(verdict.action === "require_approval" ? verdict.rules : []), "builtin:policy-change"] };
      }
      const key = `${verdict.action}\0${verdict.rules.join(",")}`;
      const group = groups.get(key);
      if (group) group.agents.push(agent);
      else groups.set(key, { agents: [agent], ...verdict });
    }
    return { path, classes, rules, policy_file: policyFile, verdicts: [...groups.values()] };
  };
  return { ok: true, compiled, classGlobs, explain };
}

export function refText(ref: PolicyRef): string {
  if (ref.source === "builtin" || !ref.path) return "built in";
  return `${ref.repo ? `${ref.repo}:` : ""}${ref.path}:${ref.line}`;
}

export function approversText(a: Approvers): string {
  const who = [...a.teams.map((t) => `@${t}`), ...a.users.map((u) => `@${u}`)].join(", ") || "nobody (none configured)";
  return `${a.count} of ${who}`;
}

export function renderExplanation(e: PathExplanation): string {
  const lines = [e.path];
  lines.push(`  classes: ${e.classes.length ? e.classes.map((c) => `${c.name} (${c.source})`).join(", ") : "none"}`);
  if (e.rules.length === 0) lines.push("  rules: none cover it; the policy's default applies");
  for (const r of e.rules) {
    const when = r.window ? `, active ${r.window.from ? `from ${r.window.from} ` : ""}${r.window.until ? `until ${r.window.until}` : ""}`.trimEnd() : "";
    lines.push(
      `  - ${r.id}: ${r.action}${r.approvers ? ` by ${approversText(r.approvers)}` : ""}, for ${r.agents ? r.agents.join(", ") : "every agent"}${when}${r.active ? "" : " (not active now)"} (${refText(r.ref)})`,
    );
    lines.push(`      via ${r.via.join(", ")}`);
    if (r.reason) lines.push(`      why: ${r.reason}`);
    if (r.escalate && r.action !== "allow") lines.push(`      escalate: ${r.escalate}`);
  }
  if (e.policy_file) lines.push("  a governance policy file: the policy owners must approve any change to it (builtin:policy-change)");
  for (const v of e.verdicts) lines.push(`  => ${v.action} for ${v.agents.join(", ")} (${v.rules.join(", ")})`);
  return lines.join("\n");
}
