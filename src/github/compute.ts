// The compute an agent burnt: minutes of its workflow jobs in the windows before now, read for one evaluation.
import { type AgentDefinition, workflowAgents } from "../policy/agents.js";
import type { AuditSink } from "./ports.js";

const DAY_MS = 24 * 60 * 60 * 1000;

export type ComputeMinutes = Record<"repo_day" | "repo_week" | "org_day" | "org_week" | "pr_day" | "pr_week", Record<string, number>>;

/**
 * Each agent's minutes (each job rounded up to a whole minute, as GitHub bills) in `repo` and across `owner`'s
 * repositories, over the 24 hours and 7 days before `now`; the `pr_*` parts are jobs of runs on `headBranch` in `repo`.
 * A job is an agent's when its workflow matches the agent's `workflows` under the policy being applied.
 */
export async function computeMinutes(
  audit: AuditSink,
  q: { repo: string; owner: string; headBranch: string; now: Date; agents: readonly AgentDefinition[] },
): Promise<ComputeMinutes> {
  const until = q.now.toISOString();
  const dayAgo = new Date(q.now.getTime() - DAY_MS).toISOString();
  const since = new Date(q.now.getTime() - 7 * DAY_MS).toISOString();
  const out: ComputeMinutes = { repo_day: {}, repo_week: {}, org_day: {}, org_week: {}, pr_day: {}, pr_week: {} };
  const add = (map: Record<string, number>, agent: string, minutes: number) => void (map[agent] = (map[agent] ?? 0) + minutes);
  for (const job of await audit.workflowJobs({ owner: q.owner, since, until })) {
    const minutes = Math.ceil(job.seconds / 60);
    const today = job.completedAt > dayAgo;
    const here = job.repo === q.repo;
    const onPr = here && job.headBranch === q.headBranch;
    for (const agent of workflowAgents(q.agents, { workflow: job.workflow, path: job.path })) {
      add(out.org_week, agent, minutes);
      if (today) add(out.org_day, agent, minutes);
      if (here) add(out.repo_week, agent, minutes);
      if (here && today) add(out.repo_day, agent, minutes);
      if (onPr) add(out.pr_week, agent, minutes);
      if (onPr && today) add(out.pr_day, agent, minutes);
    }
  }
  return out;
}
