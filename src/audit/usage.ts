// Budget use per agent, from the store: PRs and lines in the current windows (24 hours, 7 days) against each limit.
import { type AgentDefinition, PRESETS, workflowAgents } from "../policy/agents.js";
import { compiledPolicies } from "../policy/decide.js";
import type { Decision, LimitResult } from "../policy/decision.js";
import { EvaluationInputSchema } from "../policy/input.js";
import type { AuditStore } from "./store.js";

const DAY_MS = 24 * 60 * 60 * 1000;

export interface UsageLimit {
  id: string;
  limit: number;
  /** What this agent has used of it now: PRs in the window, or (per-PR limits) its largest PR in the last 24 hours. */
  used: number;
  over: boolean;
}

export interface UsageRow {
  scope: "repo" | "org";
  /** `owner/name` for a repository, the owner for an org. */
  name: string;
  agent: string;
  prs: { day: number; week: number };
  /** Lines (additions + deletions) of the agent's PRs opened in the window, as last evaluated. */
  lines: { day: number; week: number };
  /**
   * Minutes of the agent's workflow jobs completed in the window (each rounded up to a minute). A job is attributed by
   * the policy of its repository's latest evaluation (the presets when there is none).
   */
  compute: { day: number; week: number };
  /** The limits the agent's latest decision in this scope applied to it. */
  limits: UsageLimit[];
}

export interface UsageQuery {
  now: Date;
  org?: string;
  repo?: string;
  agent?: string;
}

interface Place {
  scope: string;
  repo: string;
  agent: string;
  pr: number;
  opened_at: string;
}

/** Each scope and agent with a budget place in the last 7 days, sorted by scope then agent. */
export function budgetUsage(store: AuditStore, q: UsageQuery): UsageRow[] {
  const now = q.now.getTime();
  const weekAgo = new Date(now - 7 * DAY_MS).toISOString();
  const dayAgo = new Date(now - DAY_MS).toISOString();
  const places = store.db
    .prepare("SELECT scope, repo, agent, pr, opened_at FROM agent_budget_places WHERE opened_at > ? AND opened_at <= ? ORDER BY scope, agent, opened_at")
    .all(weekAgo, q.now.toISOString()) as Place[];
  const latest = store.db.prepare("SELECT decision, input FROM decisions WHERE repo = ? AND pr = ? AND input IS NOT NULL ORDER BY id DESC LIMIT 1");
  const evaluated = new Map<string, { decision: Decision; lines: number }>();
  const evaluation = (repo: string, pr: number) => {
    const key = `${repo}#${pr}`;
    if (!evaluated.has(key)) {
      const row = latest.get(repo, pr) as { decision: string; input: string } | undefined;
      const files = row ? ((JSON.parse(row.input) as { change?: { files?: Array<{ additions?: number; deletions?: number }> } }).change?.files ?? []) : [];
      evaluated.set(key, {
        decision: row ? (JSON.parse(row.decision) as Decision) : ({ limits: [] } as unknown as Decision),
        lines: files.reduce((n, f) => n + (f.additions ?? 0) + (f.deletions ?? 0), 0),
      });
    }
    return evaluated.get(key)!;
  };

  // Agent definitions per repository: those of the policy its latest recorded evaluation applied.
  const definitions = new Map<string, readonly AgentDefinition[]>();
  const agentsOf = (repo: string): readonly AgentDefinition[] => {
    if (!definitions.has(repo)) {
      const id = (store.db.prepare("SELECT max(id) AS id FROM decisions WHERE repo = ? AND input IS NOT NULL").get(repo) as { id: number | null }).id;
      const row = id === null ? undefined : store.get(id);
      const parsed = row?.input ? EvaluationInputSchema.safeParse(JSON.parse(row.input)) : undefined;
      const compiled = parsed?.success ? compiledPolicies(parsed.data.policies) : undefined;
      definitions.set(repo, compiled?.ok ? compiled.policy.agents : Object.values(PRESETS));
    }
    return definitions.get(repo)!;
  };
  const jobs = (
    store.db
      .prepare("SELECT repo, owner, workflow, path, completed_at AS completedAt, seconds FROM workflow_jobs WHERE completed_at > ? AND completed_at <= ?")
      .all(weekAgo, q.now.toISOString()) as Array<{ repo: string; owner: string; workflow: string; path: string | null; completedAt: string; seconds: number }>
  ).map((j) => ({ ...j, agents: workflowAgents(agentsOf(j.repo), { workflow: j.workflow, path: j.path }), minutes: Math.ceil(j.seconds / 60) }));
  const computeOf = (scope: "repo" | "org", name: string, agent: string) => {
    const mine = jobs.filter((j) => j.agents.includes(agent) && (scope === "org" ? j.owner === name.toLowerCase() : j.repo === name));
    return { day: mine.filter((j) => j.completedAt > dayAgo).reduce((n, j) => n + j.minutes, 0), week: mine.reduce((n, j) => n + j.minutes, 0) };
  };

  const groups = new Map<string, Place[]>();
  for (const p of places) {
    const isOrg = p.scope.startsWith("org:");
    const owner = isOrg ? p.scope.slice(4) : (p.repo.split("/")[0] ?? "").toLowerCase();
    if (q.org !== undefined && owner !== q.org.toLowerCase()) continue;
    if (q.repo !== undefined && (isOrg || p.repo.toLowerCase() !== q.repo.toLowerCase())) continue;
    if (q.agent !== undefined && p.agent !== q.agent) continue;
    const key = `${p.scope}\u0000${p.agent}`;
    (groups.get(key) ?? groups.set(key, []).get(key)!).push(p);
  }

  const out: UsageRow[] = [];
  for (const group of groups.values()) {
    const first = group[0]!;
    const scope = first.scope.startsWith("org:") ? ("org" as const) : ("repo" as const);
    const today = group.filter((p) => p.opened_at > dayAgo);
    const lines = (ps: Place[]) => ps.reduce((n, p) => n + evaluation(p.repo, p.pr).lines, 0);
    // The numbers the agent is held to now: its newest PR's decision in this scope.
    const newest = group[group.length - 1]!;
    const applied = evaluation(newest.repo, newest.pr).decision.limits.filter(
      (l: LimitResult) => (l.scope ?? "repo") === scope && (l.agent === undefined || l.agent === null || l.agent === first.agent),
    );
    const name = scope === "org" ? first.scope.slice(4) : first.repo;
    const compute = computeOf(scope, name, first.agent);
    const limits = applied.map((l): UsageLimit => {
      const used = l.id.endsWith("max_compute_minutes_per_day")
        ? compute.day
        : l.id.endsWith("max_compute_minutes_per_week")
          ? compute.week
          : l.id.endsWith("max_prs_per_week")
            ? group.length
            : l.id.endsWith("max_prs_per_day")
              ? today.length
              : Math.max(
                  0,
                  ...today.map((p) =>
                    l.id.endsWith("max_lines") ? evaluation(p.repo, p.pr).lines : (evaluation(p.repo, p.pr).decision.files_considered ?? 0),
                  ),
                );
      return { id: l.id, limit: l.limit, used, over: used > l.limit };
    });
    out.push({
      scope,
      name,
      agent: first.agent,
      prs: { day: today.length, week: group.length },
      lines: { day: lines(today), week: lines(group) },
      compute,
      limits,
    });
  }
  return out.sort(
    (a, b) =>
      (a.scope === b.scope ? 0 : a.scope === "repo" ? -1 : 1) ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) ||
      (a.agent < b.agent ? -1 : a.agent > b.agent ? 1 : 0),
  );
}
