// Evaluation inputs checked against their schema at less cost when they are complete as they are: zod's parse copies
// every object and array, which was a fifth of a replay and a few percent of a decision's CPU in the app.
import { compileFastCheck, UnsupportedSchemaError } from "./fast-check.js";
import { type EvaluationInput, EvaluationInputSchema } from "./input.js";

/**
 * Whether a value is valid exactly as it is (every default present): then it needs no copy by zod. Anything else (an
 * old stored row lacking a newer field's default, an input built without its defaults, one that does not parse) goes
 * through the schema, which fills in defaults or reports the problem.
 */
const completeAsIs: ((value: unknown) => value is EvaluationInput) | null = (() => {
  try {
    return compileFastCheck(EvaluationInputSchema);
  } catch (error) {
    if (error instanceof UnsupportedSchemaError) return null;
    throw error;
  }
})();

/** EvaluationInputSchema.safeParse's verdict; a complete value is given back as it is. */
export function safeParseInput(value: unknown): ReturnType<typeof EvaluationInputSchema.safeParse> {
  return completeAsIs?.(value) ? { success: true, data: value } : EvaluationInputSchema.safeParse(value);
}

/** EvaluationInputSchema.parse's verdict (it throws the schema's error); a complete value is given back as it is. */
export function parseInput(value: unknown): EvaluationInput {
  return completeAsIs?.(value) ? value : EvaluationInputSchema.parse(value);
}
