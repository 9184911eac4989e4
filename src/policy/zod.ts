// The policy's schemas are written with zod/mini: the same checks, messages and JSON Schema as zod's chained API, in
// functions a bundler can drop when unused, so the offline commands' bundle carries only the zod they use.
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";

// zod's chained API sets these defaults when its first schema is built; zod/mini leaves them to its user. English
// messages, and the memoizer that lets containers parse cyclic values (a YAML alias can make one) without recursing.
if (!z.config().localeError) z.config(en());
if (!z.config().memoizer) z.config({ memoizer: z.memoizer() });

/** A copy of `schema` with a description (for the JSON Schema), as zod's `.describe()` makes. */
export function described<T extends z.ZodMiniType>(schema: T, description: string): T {
  const copy = schema.clone();
  z.globalRegistry.add(copy, { description });
  return copy;
}
