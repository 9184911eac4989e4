// The seam between every change source and the core: ask the evaluator what it needs next (src/policy/needs.ts), read
// that from the source (GitHub for the app, a git checkout for the CLI, an MCP request), each at most once, until the
// input decides. No I/O of its own: what a source reads is what ends up in the evaluation input.
import { ChangeSchema, ContextSchema, type ChangeInput } from "../policy/change.js";
import type { PolicyCache } from "../policy/decide.js";
import type { Decision } from "../policy/decision.js";
import type { EvaluationInput, EvaluationInputInit } from "../policy/input.js";
import { parseInput } from "../policy/parse-input.js";
import { type ChangeSource, type Need, type NeedKind, nextStep } from "../policy/needs.js";

type Usage = EvaluationInputInit["context"]["usage"];
type Change = EvaluationInput["change"];

/** The schemas of the parts a source answers: each answer is checked on its own, not the whole input again. */
const PART = {
  commit_authors: ChangeSchema.shape.commit_authors,
  contributors: ChangeSchema.shape.contributors,
  files: ChangeSchema.shape.files,
  reviews: ChangeSchema.shape.reviews,
  team_members: ChangeSchema.shape.team_members,
  usage: ContextSchema.shape.usage,
};

/**
 * Fills `init` with what the evaluator says it needs, asking again after each answer, each need read at most once.
 * `budget` reserves the change's budget places (the server's store, not the source). Returns the complete input, what
 * was read, in order, and the decision the complete input makes (`decide` of it, already evaluated to know that
 * nothing more was needed).
 *
 * The input is parsed whole once (a complete `init` is checked without a copy); each answer is then parsed by its own
 * part's schema and put in place. The input schema checks each part on its own (no rule spans two), so the result is
 * what parsing the whole would give.
 */
export async function gatherChange(
  init: { policies: EvaluationInput["policies"]; change: ChangeInput; context: { now: string; usage: NonNullable<Usage> } },
  source: ChangeSource,
  budget: (need: Extract<Need, { kind: "budget" }>) => Promise<Partial<NonNullable<Usage>>>,
  cache?: PolicyCache,
): Promise<{ input: EvaluationInput; read: NeedKind[]; decision: Decision }> {
  const read: NeedKind[] = [];
  let input = parseInput({ policies: init.policies, change: init.change, context: init.context });
  const withChange = (part: Partial<Change>) => (input = { ...input, change: { ...input.change, ...part } });
  for (let step = nextStep(input, new Set(read), cache); ; step = nextStep(input, new Set(read), cache)) {
    const need = step.need;
    if (!need) return { input, read, decision: step.decision };
    if (read.includes(need.kind)) throw new Error(`the evaluator asked twice for ${need.kind}`); // a bug, never a loop
    read.push(need.kind);
    switch (need.kind) {
      case "commits": {
        const signals = await source.commits();
        withChange({ commit_authors: PART.commit_authors.parse(signals.authors), contributors: PART.contributors.parse(signals.contributors) });
        break;
      }
      case "files":
        withChange({ files: PART.files.parse(await source.files()) });
        break;
      case "budget": {
        const places = await budget(need);
        input = { ...input, context: { ...input.context, usage: PART.usage.parse({ ...input.context.usage, ...places }) } };
        break;
      }
      case "reviews":
        withChange({ reviews: PART.reviews.parse(await source.reviews()) });
        break;
      case "team_members":
        withChange({ team_members: PART.team_members.parse(await source.teamMembers(need.teams, need.logins)) });
        break;
    }
  }
}
