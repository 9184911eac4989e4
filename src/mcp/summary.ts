// `policy_summary`: the policy as one agent sees it, grouped by what it means for the agent's work.
import type { Explained } from "../cli/explain.js";
import { approversText, refText } from "../cli/explain.js";
import { windowEnd, windowStart } from "../policy/load.js";
import { REPO_POLICY_PATHS } from "../policy/paths.js";
import type { Approvers } from "../policy/schema.js";

interface RuleSummary {
  rule: string;
  paths: string[];
  classes: string[];
  reason?: string;
  escalate?: string;
  approvers?: string;
  active?: { from?: string; until?: string };
  policy: string;
}

const who = (a: Approvers | undefined) => (a ? approversText(a) : "nobody: no approvers are configured");

export function policySummary(explained: Extract<Explained, { ok: true }>, agent: string, now: Date) {
  const c = explained.compiled;
  const t = now.getTime();
  const groups = { allow: [] as RuleSummary[], require_approval: [] as RuleSummary[], deny: [] as RuleSummary[] };
  const scheduled: Array<RuleSummary & { action: string }> = [];
  for (const r of c.rules) {
    if (r.rule.match.agents && !r.rule.match.agents.includes(agent)) continue;
    const classes = r.rule.match.classes ?? [];
    const globs = [...classes.flatMap((cls) => explained.classGlobs[r.source][cls] ?? []), ...(r.rule.match.paths ?? [])];
    const approvers = r.approvers ?? undefined;
    const entry: RuleSummary = {
      rule: r.id,
      paths: globs,
      classes,
      ...(r.rule.reason ? { reason: r.rule.reason } : {}),
      ...(r.rule.escalate ? { escalate: r.rule.escalate } : {}),
      ...(r.rule.action === "require_approval" ? { approvers: who(approvers) } : {}),
      ...(r.rule.active ? { active: r.rule.active } : {}),
      policy: refText(r.ref),
    };
    const active = (!r.rule.active?.from || t >= windowStart(r.rule.active.from)) && (!r.rule.active?.until || t < windowEnd(r.rule.active.until));
    if (active) groups[r.rule.action].push(entry);
    else scheduled.push({ ...entry, action: r.rule.action });
  }
  const recognised = c.agents.some((a) => a.name === agent);
  const limit = (s: { value: number; ref: Parameters<typeof refText>[0] } | undefined) => (s ? { value: s.value, policy: refText(s.ref) } : null);
  return {
    agent,
    recognised: recognised
      ? `The policy recognises ${agent}; its pull requests are governed.`
      : c.scope === "all"
        ? `The policy does not list ${agent} as an agent, but it governs every author (scope: all).`
        : `The policy does not recognise ${agent} (its preset is not enabled), so its pull requests are not governed; the rules below apply if you are forced to ${agent}.`,
    precedence:
      "Where several rules cover a path, the strictest wins: deny over require_approval over allow. Every changed path counts, and for a rename the old path too.",
    may_change_freely: groups.allow,
    needs_approval: groups.require_approval,
    may_not_touch: groups.deny,
    not_in_force_now: scheduled,
    // Each policy file's default applies to the paths none of that file's own rules cover.
    uncovered_paths: c.defaults.map((d) => ({
      source: d.source,
      action: d.value,
      ...(d.value === "require_approval" ? { approvers: who(d.approvers ?? undefined) } : {}),
      policy: refText(d.ref),
    })),
    policy_files: {
      paths: [...REPO_POLICY_PATHS],
      action: "require_approval",
      approvers: who(c.owners?.value),
      why: "A change to a governance policy file always needs the policy owners, whatever the rules say.",
    },
    limits: {
      max_files_per_pr: limit(c.limits.max_files),
      max_lines_per_pr: limit(c.limits.max_lines),
      max_prs_per_day: limit(c.limits.max_prs_per_day),
      when_exceeded: c.limits.action,
    },
  };
}
