// Everything an evaluation reads, in one value: what the audit store keeps and what replay feeds back in.
import * as z from "zod/mini";
import { ChangeSchema, ContextSchema } from "./change.js";

export const PolicySourceSchema = z.strictObject({
  /** The policy file's text exactly as read (YAML). */
  text: z.string(),
  /** Path of the file in its repository, e.g. `.governance.yml`. */
  path: z.string(),
  /** `owner/name` of the repository the text was read from. */
  repo: z.optional(z.string()),
  /** Commit the text was read at (the PR's base SHA for a repo policy). */
  sha: z.optional(z.string()),
});
export type PolicySource = z.infer<typeof PolicySourceSchema>;

export const EvaluationInputSchema = z.strictObject({
  policies: z.strictObject({
    org: z.optional(PolicySourceSchema),
    repo: z.optional(PolicySourceSchema),
  }),
  change: ChangeSchema,
  context: ContextSchema,
});
export type EvaluationInput = z.infer<typeof EvaluationInputSchema>;
export type EvaluationInputInit = z.input<typeof EvaluationInputSchema>;
