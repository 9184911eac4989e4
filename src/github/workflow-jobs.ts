// `workflow_job.completed`: the timing of each job, recorded once per job id, so agents' compute can be budgeted.
import { z } from "zod";
import type { AppDeps } from "./ports.js";
import { parsePayload } from "./payload.js";

export const WorkflowJobEventSchema = z.object({
  action: z.literal("completed"),
  repository: z.object({ full_name: z.string() }),
  workflow_job: z.object({
    id: z.number().int(),
    run_id: z.number().int(),
    workflow_name: z.string().nullable().optional(),
    head_branch: z.string().nullable().optional(),
    started_at: z.string(),
    completed_at: z.string().nullable(),
  }),
});

/**
 * Records a completed job's minutes. Which agent it belongs to is decided when a PR is evaluated, from the policy then
 * in force (presets' and custom agents' `workflows`), so a policy change re-attributes nothing already recorded wrongly.
 * A job that never started (skipped, cancelled while queued) has no completion time or takes no time: nothing to count.
 */
export async function recordWorkflowJob(payload: unknown, deliveryId: string | null, deps: AppDeps): Promise<{ recorded: boolean }> {
  const event = parsePayload(WorkflowJobEventSchema, "workflow_job", payload);
  const job = event.workflow_job;
  if (!job.completed_at) return { recorded: false };
  return deps.audit.recordWorkflowJob({
    jobId: job.id,
    repo: event.repository.full_name,
    runId: job.run_id,
    workflow: job.workflow_name ?? "",
    path: null,
    headBranch: job.head_branch ?? null,
    startedAt: job.started_at,
    completedAt: job.completed_at,
    deliveryId,
  });
}
