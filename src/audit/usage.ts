// Budget use per agent, from the audit log (SQLite or PostgreSQL): PRs and lines in the current windows (24 hours, 7 days) against each limit.
import { type AgentDefinition, PRESETS, workflowAgents } from "../policy/agents.js";
import { compiledPolicies } from "../policy/decide.js";
import type { Decision, LimitResult } from "../policy/decision.js";
import { EvaluationInputSchema } from "../policy/input.js";
import type { AuditLog, BudgetPlace } from "../store/ports.js";

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

type Place = BudgetPlace;

/** Each scope and agent with a budget place in the last 7 days, sorted by scope then agent. Same answer from either store. */
export async function budgetUsage(log: AuditLog, q: UsageQuery): Promise<UsageRow[]> {
  const now = q.now.getTime();
  const weekAgo = new Date(now - 7 * DAY_MS).toISOString();
  const dayAgo = new Date(now - DAY_MS).toISOString();
  const places = await log.budgetPlaces({ after: weekAgo, until: q.now.toISOString() });
  const jobRows = await log.allWorkflowJobs({ since: weekAgo, until: q.now.toISOString() });

  // Every PR's latest evaluation, and every repository's (whose policy names its agents), read in one batch.
  const prKeys = [...new Map(places.map((p) => [`${p.repo}#${p.pr}`, { repo: p.repo, pr: p.pr }])).values()];
  const repos = [...new Set(jobRows.map((j) => j.repo))];
  const latest = await log.latestEvaluated([...prKeys, ...repos.map((repo) => ({ repo }))]);
  const evaluated = new Map<string, { decision: Decision; lines: number }>();
  for (const [i, key] of prKeys.entries()) {
    const row = latest[i];
    const files = row?.input ? ((JSON.parse(row.input) as { change?: { files?: Array<{ additions?: number; deletions?: number }> } }).change?.files ?? []) : [];
    evaluated.set(`${key.repo}#${key.pr}`, {
      decision: row ? (JSON.parse(row.decision) as Decision) : ({ limits: [] } as unknown as Decision),
      lines: files.reduce((n, f) => n + (f.additions ?? 0) + (f.deletions ?? 0), 0),
    });
  }
  const evaluation = (repo: string, pr: number) => evaluated.get(`${repo}#${pr}`)!;

  // Agent definitions per repository: those of the policy its latest recorded evaluation applied.
  const definitions = new Map<string, readonly AgentDefinition[]>();
  for (const [i, repo] of repos.entries()) {
    const row = latest[prKeys.length + i];
    const parsed = row?.input ? EvaluationInputSchema.safeParse(JSON.parse(row.input)) : undefined;
    const compiled = parsed?.success ? compiledPolicies(parsed.data.policies) : undefined;
    definitions.set(repo, compiled?.ok ? compiled.policy.agents : Object.values(PRESETS));
  }
  const jobs = jobRows.map((j) => ({
    ...j,
    owner: (j.repo.split("/")[0] ?? "").toLowerCase(),
    agents: workflowAgents(definitions.get(j.repo)!, { workflow: j.workflow, path: j.path }),
    minutes: Math.ceil(j.seconds / 60),
  }));
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
    const today = group.filter((p) => p.openedAt > dayAgo);
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
