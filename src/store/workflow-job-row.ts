// A workflow job as both stores keep it: the owner in lower case, times in one spelling, seconds from the two times.
// One definition, so that a copied job counts the same minutes as the recorded one.
import { isoTime } from "../util/iso-time.js";
import type { WorkflowJob } from "./ports.js";

export interface WorkflowJobRow extends WorkflowJob {
  owner: string;
  seconds: number;
}

export function workflowJobRow(job: WorkflowJob): WorkflowJobRow {
  return {
    ...job,
    owner: (job.repo.split("/")[0] ?? "").toLowerCase(),
    startedAt: isoTime(job.startedAt),
    completedAt: isoTime(job.completedAt),
    seconds: Math.max(0, Math.round((Date.parse(job.completedAt) - Date.parse(job.startedAt)) / 1000)),
  };
}
