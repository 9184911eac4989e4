// Agents' compute per UTC day for the agents page: workflow job minutes, attributed as `governor usage` attributes them
// (each job rounded up to a minute, as GitHub bills; a job is an agent's when its workflow matches the agent's
// `workflows` under the policy of its repository's latest evaluation, or the presets when there is none).
import { type AgentDefinition, PRESETS, workflowAgents } from "../policy/agents.js";
import { compiledPolicies } from "../policy/decide.js";
import { EvaluationInputSchema } from "../policy/input.js";

export interface JobRow {
  repo: string;
  workflow: string;
  path: string | null;
  completed_at: string;
  seconds: number;
}

/** The agent definitions of a stored input's policies (its texts in place); the presets when it does not compile. */
export function definitionsOf(input: string | null | undefined): readonly AgentDefinition[] {
  const parsed = input ? EvaluationInputSchema.safeParse(JSON.parse(input)) : undefined;
  const compiled = parsed?.success ? compiledPolicies(parsed.data.policies) : undefined;
  return compiled?.ok ? compiled.policy.agents : Object.values(PRESETS);
}

/** Minutes per agent and day (`agent\0day` keys); `definitions(repo)` gives the agents a repository's jobs are matched to. */
export async function computeByAgentDay(
  jobs: readonly JobRow[],
  definitions: (repo: string) => readonly AgentDefinition[] | Promise<readonly AgentDefinition[]>,
): Promise<Map<string, number>> {
  const byRepo = new Map<string, readonly AgentDefinition[]>();
  const out = new Map<string, number>();
  for (const job of jobs) {
    let defs = byRepo.get(job.repo);
    if (!defs) byRepo.set(job.repo, (defs = await definitions(job.repo)));
    const minutes = Math.ceil(job.seconds / 60);
    for (const agent of workflowAgents(defs, { workflow: job.workflow, path: job.path })) {
      const key = `${agent}\0${job.completed_at.slice(0, 10)}`;
      out.set(key, (out.get(key) ?? 0) + minutes);
    }
  }
  return out;
}
