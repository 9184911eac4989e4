// Policy texts by reference inside a stored input, in exactly the form src/audit/policy-texts.ts writes: the stored
// input (and so the row's hash) is the same whichever store wrote it. Pure: the stores keep the texts.
import { createHash } from "node:crypto";
import type { EvaluationInput } from "../policy/input.js";
import type { StoredPolicyText } from "./ports.js";
import { Lru } from "../util/lru.js";

const TOKEN_PREFIX = "\u0000policy:sha256:";
const REFERENCE = /"text":"\\u0000policy:sha256:([0-9a-f]{64})"/g;
const CACHE_LIMIT = 256;

export const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

/** A stored input refers to a policy text its store does not have: the store was damaged (verify names where). */
export class MissingPolicyTextError extends Error {
  override name = "MissingPolicyTextError";
  constructor(
    readonly sha256: string,
    where: "file" | "database" = "file",
  ) {
    super(`the audit store has no policy text ${sha256}: the ${where} was damaged (run governor audit verify)`);
  }
}

/** A lookup of texts by hash that throws MissingPolicyTextError for one it lacks. */
export function textLookup(texts: ReadonlyMap<string, string>): (sha: string) => string {
  return (sha) => {
    const text = texts.get(sha);
    if (text === undefined) throw new MissingPolicyTextError(sha);
    return text;
  };
}

/** Hashes of policy texts by text: the app hands over the same cached policy string for every evaluation. */
export class PolicyRefs {
  private readonly hashes = new Lru<string, string>(CACHE_LIMIT);
  private last: { text: string; sha: string } | undefined;

  /** The stored form of the input, and the texts it refers to (to be stored once each). */
  stash(input: EvaluationInput): { stored: string; texts: StoredPolicyText[] } {
    const policies: Record<string, unknown> = {};
    const texts: StoredPolicyText[] = [];
    for (const [source, policy] of Object.entries(input.policies)) {
      if (!policy) continue;
      const text = policy.text;
      const sha = this.hashOf(text);
      texts.push({ sha256: sha, text: policy.text });
      policies[source] = { ...policy, text: `${TOKEN_PREFIX}${sha}` };
    }
    return { stored: JSON.stringify({ ...input, policies }), texts };
  }

  /** A text's SHA-256; the text hashed last is answered without touching the LRU (where it is the newest entry already). */
  private hashOf(text: string): string {
    if (this.last?.text === text) return this.last.sha;
    const sha = this.hashes.getOrSet(text, () => sha256(text));
    this.last = { text, sha };
    return sha;
  }
}

/** The hashes of the texts a stored input refers to. */
export function references(stored: string | null): string[] {
  return stored === null ? [] : [...stored.matchAll(REFERENCE)].map((m) => m[1] as string);
}

/**
 * A parsed stored input with its policy texts put back in place (each `text` that is a reference), in place: what a
 * reader that parses the input anyway does instead of `hydrate`. `text` throws for a text the store does not have.
 */
export function resolveReferences(parsed: unknown, text: (sha: string) => string): unknown {
  const policies = (parsed as { policies?: Record<string, { text?: unknown } | undefined> } | null)?.policies;
  for (const policy of Object.values(policies ?? {})) {
    if (policy && typeof policy.text === "string" && policy.text.startsWith(TOKEN_PREFIX)) policy.text = text(policy.text.slice(TOKEN_PREFIX.length));
  }
  return parsed;
}

/** The stored input with its texts put back: exactly the JSON of the input that was evaluated. */
export function hydrate(stored: string | null, text: (sha: string) => string): string | null {
  if (stored === null || !stored.includes("\\u0000policy:sha256:")) return stored;
  return stored.replace(REFERENCE, (_, sha: string) => `"text":${JSON.stringify(text(sha))}`);
}
