// The seam between every change source and the core: ask the evaluator what it needs next (src/policy/needs.ts), read
// that from the source (GitHub for the app, a git checkout for the CLI, an MCP request), each at most once, until the
// input decides. No I/O of its own: what a source reads is what ends up in the evaluation input.
import type { ChangeInput } from "../policy/change.js";
import type { PolicyCache } from "../policy/decide.js";
import { EvaluationInputSchema, type EvaluationInput, type EvaluationInputInit } from "../policy/input.js";
import { type ChangeSource, type Need, type NeedKind, nextNeed } from "../policy/needs.js";

type Usage = EvaluationInputInit["context"]["usage"];

/**
 * Fills `init` with what the evaluator says it needs, asking again after each answer, each need read at most once.
 * `budget` reserves the change's budget places (the server's store, not the source). Returns the complete input and
 * what was read, in order.
 */
export async function gatherChange(
  init: { policies: EvaluationInput["policies"]; change: ChangeInput; context: { now: string; usage: NonNullable<Usage> } },
  source: ChangeSource,
  budget: (need: Extract<Need, { kind: "budget" }>) => Promise<Partial<NonNullable<Usage>>>,
  cache?: PolicyCache,
): Promise<{ input: EvaluationInput; read: NeedKind[] }> {
  const { change, context } = init;
  const read: NeedKind[] = [];
  const parse = () => EvaluationInputSchema.parse({ policies: init.policies, change, context });
  for (let input = parse(), need = nextNeed(input, new Set(read), cache); need; input = parse(), need = nextNeed(input, new Set(read), cache)) {
    if (read.includes(need.kind)) throw new Error(`the evaluator asked twice for ${need.kind}`); // a bug, never a loop
    read.push(need.kind);
    switch (need.kind) {
      case "commits": {
        const signals = await source.commits();
        change.commit_authors = signals.authors;
        change.contributors = signals.contributors;
        break;
      }
      case "files":
        change.files = await source.files();
        break;
      case "budget":
        Object.assign(context.usage, await budget(need));
        break;
      case "reviews":
        change.reviews = await source.reviews();
        break;
      case "team_members":
        change.team_members = await source.teamMembers(need.teams, need.logins);
        break;
    }
  }
  return { input: parse(), read };
}
