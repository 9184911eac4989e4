// The parts of webhook payloads Governor reads, checked: a payload missing a field gives a clear error, never a crash.
import { z } from "zod";

export const AccountSchema = z.object({ login: z.string().min(1), type: z.string().default("User") });

export const RepositorySchema = z.object({
  name: z.string().min(1),
  full_name: z.string().min(1),
  owner: z.object({ login: z.string().min(1), type: z.string().optional() }),
  html_url: z.string().url(),
  default_branch: z.string().optional(),
});
export type Repository = z.infer<typeof RepositorySchema>;

export const PullRequestSchema = z.object({
  number: z.number().int().positive(),
  state: z.string(),
  draft: z
    .boolean()
    .nullish()
    .transform((v) => v ?? false),
  user: AccountSchema,
  head: z.object({ ref: z.string(), sha: z.string().min(7) }),
  base: z.object({ ref: z.string(), sha: z.string().min(7) }),
  labels: z.array(z.object({ name: z.string() })).default([]),
  requested_reviewers: z
    .array(z.object({ login: z.string() }).passthrough())
    .nullish()
    .transform((v) => v ?? []),
  requested_teams: z
    .array(z.object({ slug: z.string() }).passthrough())
    .nullish()
    .transform((v) => v ?? []),
  changed_files: z.number().int().min(0).optional(),
  /** How many commits GitHub counts in the PR (not in review payloads). */
  commits: z.number().int().min(0).optional(),
  created_at: z.string().optional(),
  html_url: z.string().optional(),
});
export type PullRequest = z.infer<typeof PullRequestSchema>;

export const PullRequestEventSchema = z.object({
  action: z.string(),
  pull_request: PullRequestSchema,
  repository: RepositorySchema,
  installation: z.object({ id: z.number().int() }).optional(),
});

export const RerunEventSchema = z.object({
  action: z.literal("rerequested"),
  repository: RepositorySchema,
  installation: z.object({ id: z.number().int() }).optional(),
});
export const RerunTargetSchema = z.object({
  head_sha: z.string().min(7),
  app: z.object({ id: z.number().int() }).nullish(),
  pull_requests: z.array(z.object({ number: z.number().int() })).default([]),
});

export class PayloadError extends Error {
  override name = "PayloadError";
  constructor(
    readonly event: string,
    readonly issues: string[],
  ) {
    super(`the ${event} payload is missing or has wrong fields: ${issues.join("; ")}`);
  }
}

export function parsePayload<T>(schema: z.ZodType<T>, event: string, payload: unknown): T {
  const result = schema.safeParse(payload);
  if (result.success) return result.data;
  throw new PayloadError(
    event,
    result.error.issues.slice(0, 10).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`),
  );
}
