// The result of an evaluation: the documented, versioned `governor.decision/v2` shape (documented in docs/policy.md).
// A structured tree without prose: built-in rules, defaults, limits and not-governed/error cases carry a `code` and
// `params`, and every sentence comes from a renderer (src/report/phrases.ts), so rewording one never changes a stored row.
import * as z from "zod/mini";
import { described } from "./zod.js";
import { ActionSchema } from "./schema.js";

export const DECISION_SCHEMA = "governor.decision/v2";
/** Decisions recorded before 1.4.0: the evaluator wrote the title, summary and built-in reasons as English. */
export const DECISION_SCHEMA_V1 = "governor.decision/v1";
/** Bumped whenever the evaluator could decide differently on the same inputs; stored with every audit row. */
export const EVALUATOR_VERSION = "1.5.0";

/** `error`: no decision could be reached (invalid policy, GitHub failure, input too large); it fails closed like a denial. */
export const OUTCOMES = ["allowed", "needs_approval", "denied", "not_governed", "error"] as const;
export const OutcomeSchema = z.enum(OUTCOMES);
export type Outcome = z.infer<typeof OutcomeSchema>;

export const SignalSchema = z.strictObject({
  kind: z.enum(["login", "branch", "label", "commit_author", "recorded", "forced", "scope_all"]),
  value: z.string(),
  matched: described(z.string(), "the preset or custom agent definition that matched"),
});

export const AgentIdentitySchema = z.strictObject({
  name: z.string(),
  signals: z.array(SignalSchema),
});
export type AgentIdentity = z.infer<typeof AgentIdentitySchema>;

export const PolicyRefSchema = z.strictObject({
  source: z.enum(["org", "repo", "builtin"]),
  path: z.string(),
  repo: z.optional(z.string()),
  sha: z.optional(z.string()),
  /** 1-based line in the file; 0 for built-in rules that no file states. */
  line: z.number().check(z.int(), z.gte(0)),
});
export type PolicyRef = z.infer<typeof PolicyRefSchema>;

export const IGNORED_CODES = ["author", "automated", "not_approver", "contributor", "stale"] as const;
export const IgnoredCodeSchema = z.enum(IGNORED_CODES);
export type IgnoredCode = z.infer<typeof IgnoredCodeSchema>;

export const GateApproversSchema = z.strictObject({
  teams: z.array(z.string()),
  users: z.array(z.string()),
  count: z.number().check(z.int()),
});

/** A reason code's parameters: flat scalars, so every renderer can phrase them its own way. */
export const ParamsSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]));
export type Params = z.infer<typeof ParamsSchema>;
export const CodedSchema = z.strictObject({ code: z.string(), params: ParamsSchema });
export type Coded = z.infer<typeof CodedSchema>;

export const AppliedRuleSchema = z.strictObject({
  id: described(z.string(), "namespaced: org:…, repo:…, builtin:…, limits.…"),
  action: ActionSchema,
  files: z.array(z.string()),
  /** The policy author's own words (data); built-in rules, defaults and limits give a `code` and `params` instead. */
  reason: z.optional(z.string()),
  code: z.optional(z.string()),
  params: z.optional(ParamsSchema),
  /** The policy author's words on whom to ask (data). */
  escalate: z.optional(z.string()),
  /** Without `escalate`, whom to ask as a code: `policy_owners` (params.owners) or `repo_admins`. Rows before 1.5.0 have English in `escalate`. */
  escalation: z.optional(CodedSchema),
  policy_ref: PolicyRefSchema,
  /** Present for require_approval: the gate this rule opens. */
  gate: z.optional(
    z.strictObject({
      approvers: GateApproversSchema,
      approved_by: z.array(z.string()),
      changes_requested_by: z.array(z.string()),
      /** Approvals not counted: v2 gives a `code` (author, automated, not_approver, contributor, stale); v1 rows a `why` sentence. */
      ignored: z.array(z.strictObject({ login: z.string(), code: z.optional(IgnoredCodeSchema), why: z.optional(z.string()) })),
      met: z.boolean(),
    }),
  ),
  /** Present when the rule is in observe mode: it is shown and recorded but does not decide the outcome. */
  mode: z.optional(z.literal("observe")),
  /** Present when a break-glass override lifted this (blocking) rule for the head commit. */
  overridden_by: z.optional(z.string()),
});
export type AppliedRule = z.infer<typeof AppliedRuleSchema>;

export const LimitResultSchema = z.strictObject({
  id: z.string(),
  limit: z.number().check(z.int()),
  actual: z.number().check(z.int()),
  exceeded: z.boolean(),
  /** Where it is counted: this repository, or every repository of the org (`org_limits`). Absent in decisions before 1.3.0. */
  scope: z.optional(z.enum(["repo", "org"])),
  /** The agent whose budget this is (null: the PR matched no agent, under scope: all). */
  agent: z.optional(z.nullable(z.string())),
  /** Used before this PR (its earlier PRs in the window; 0 for a per-PR limit). */
  used: z.optional(z.number().check(z.int())),
  /** This PR's share: 1 PR, or its files or lines. `actual` is used + share. */
  share: z.optional(z.number().check(z.int())),
});
export type LimitResult = z.infer<typeof LimitResultSchema>;

export const DecisionSchema = z.strictObject({
  schema: z.literal(DECISION_SCHEMA),
  evaluator_version: z.string(),
  outcome: OutcomeSchema,
  /** Why there is no rule-based outcome: not_governed (no policy, no agent, released), error, or an app-made row. */
  cause: z.optional(CodedSchema),
  /** The primary agent: the one with the strongest signal. */
  agent: z.nullable(AgentIdentitySchema),
  /** Every agent whose signals matched (the primary first); the PR is bound by the rules and budgets of each. */
  agents: z.array(AgentIdentitySchema),
  head_sha: z.string(),
  rules: z.array(AppliedRuleSchema),
  gates: z.strictObject({ total: z.number().check(z.int()), met: z.number().check(z.int()) }),
  unmatched_files: z.array(z.string()),
  limits: z.array(LimitResultSchema),
  files_considered: z.number().check(z.int()),
  /** Present when observe-mode parts would have made the outcome stricter: what enforcing them would have decided. */
  observed: z.optional(
    z.strictObject({
      outcome: OutcomeSchema,
      rules: described(z.array(z.string()), "the observe-mode rules that would have blocked"),
    }),
  ),
  /** Present when a break-glass override turned a blocking decision into `allowed` for this head commit. */
  override: z.optional(
    z.strictObject({
      by: z.array(z.string()),
      reason: z.string(),
      at: z.string(),
      rules: described(z.array(z.string()), "the blocking rules it lifted"),
    }),
  ),
  /** For outcome `error`: each problem, with where it is when known. */
  errors: z.array(
    z.strictObject({
      message: z.string(),
      file: z.optional(z.string()),
      line: z.optional(z.number().check(z.int())),
      column: z.optional(z.number().check(z.int())),
      field: z.optional(z.string()),
    }),
  ),
});
export type Decision = z.infer<typeof DecisionSchema>;

/** The v1 shape as stored before evaluator 1.4.0: prose inside the record, no codes. Readers accept both. */
export const DecisionV1Schema = z.extend(z.omit(DecisionSchema, { schema: true }), {
  schema: z.literal(DECISION_SCHEMA_V1),
  title: z.string(),
  summary: z.string(),
});
export type DecisionV1 = z.infer<typeof DecisionV1Schema>;
export const StoredDecisionSchema = z.union([DecisionSchema, DecisionV1Schema]);
/** A decision as a reader finds it in the audit trail: v2, or v1 with its recorded prose. */
export type StoredDecision = Decision | DecisionV1;
