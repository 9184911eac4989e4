// decide(input) -> decision: from the stored texts to the decision, total (never throws). The app, `check` and replay all use it.
import { createHash } from "node:crypto";
import { type CompiledPolicy, compilePolicies, type PolicyOrigin } from "./compile.js";
import { type Coded, type Decision, DECISION_SCHEMA, EVALUATOR_VERSION } from "./decision.js";
import { evaluate } from "./evaluate.js";
import type { EvaluationInput, PolicySource } from "./input.js";
import { Lru } from "../util/lru.js";
import { loadPolicy, type PolicyProblem } from "./load.js";

type Compiled = { ok: true; policy: CompiledPolicy } | { ok: false; errors: PolicyProblem[] };

/** Compiled policies by the hash of their texts: a busy repo's policy is parsed and compiled once. */
export class PolicyCache {
  private readonly entries: Lru<string, Compiled>;
  /** The policies last asked for, and what they compiled to: consecutive decisions (a replay) mostly share them. */
  private last: { org: PolicySource | undefined; repo: PolicySource | undefined; compiled: Compiled } | undefined;
  constructor(maxEntries = 256) {
    this.entries = new Lru(maxEntries);
  }

  get(key: string, make: () => Compiled): Compiled {
    return this.entries.getOrSet(key, make);
  }

  /** The compiled form of `policies`: the last one when they are the same sources, else through the LRU by their key. */
  compiled(policies: EvaluationInput["policies"]): Compiled {
    const last = this.last;
    if (last && sameSource(last.org, policies.org) && sameSource(last.repo, policies.repo)) return last.compiled;
    const compiled = this.get(keyOf(policies), () => compileInput(policies));
    this.last = { org: policies.org, repo: policies.repo, compiled };
    return compiled;
  }
}

/** The same source field by field (what keyOf reads); the text compared whole, usually one string against itself. */
function sameSource(a: PolicySource | undefined, b: PolicySource | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.text === b.text && a.path === b.path && a.repo === b.repo && a.sha === b.sha;
}

/**
 * The hash of each policy text, by text: every decision of a repo (and every replayed row) carries the same policy
 * text, and hashing it again on each was a tenth of a replay. A Map hashes a string once per string instance.
 */
const textKeys = new Map<string, string>();
function textKey(text: string): string {
  let key = textKeys.get(text);
  if (key === undefined) {
    if (textKeys.size >= 256) textKeys.clear();
    key = createHash("sha256").update(text).digest("hex");
    textKeys.set(text, key);
  }
  return key;
}

function keyOf(policies: EvaluationInput["policies"]): string {
  // Fields joined with NUL, which a path, repo or sha cannot contain; the text by its hash.
  return [policies.org, policies.repo]
    .map((source) => (source ? `${source.path}\0${source.repo ?? ""}\0${source.sha ?? ""}\0${textKey(source.text)}` : "-"))
    .join("\u0001");
}

export function compileInput(policies: EvaluationInput["policies"]): Compiled {
  const origins: { org?: PolicyOrigin; repo?: PolicyOrigin } = {};
  const errors: PolicyProblem[] = [];
  // The org first: a repo policy is checked as combined with it (it may name the org's agents and rely on its approvers).
  for (const name of ["org", "repo"] as const) {
    const source: PolicySource | undefined = policies[name];
    if (!source) continue;
    const org = name === "repo" ? origins.org?.loaded.policy : undefined;
    const result = loadPolicy(source.text, source.repo ? `${source.repo}:${source.path}` : source.path, { ...(org ? { org } : {}), role: name });
    if (result.ok)
      origins[name] = {
        loaded: { ...result.loaded, file: source.path },
        ...(source.repo ? { repo: source.repo } : {}),
        ...(source.sha ? { sha: source.sha } : {}),
      };
    else errors.push(...result.errors);
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, policy: compilePolicies(origins) };
}

/** The compiled policies of an input, through the cache when one is given. */
export function compiledPolicies(policies: EvaluationInput["policies"], cache?: PolicyCache): Compiled {
  return cache ? cache.compiled(policies) : compileInput(policies);
}

export function decide(input: EvaluationInput, cache?: PolicyCache): Decision {
  if (!input.policies.org && !input.policies.repo) return noPolicyDecision(input.change.head_sha);
  const compiled = compiledPolicies(input.policies, cache);
  if (!compiled.ok) {
    return errorDecision(
      { code: "invalid_policy", params: { errors: compiled.errors.length } },
      compiled.errors.map((e) => ({ column: e.column, ...(e.field ? { field: e.field } : {}), file: e.file, line: e.line, message: e.message })),
      input.change.head_sha,
    );
  }
  return evaluate(compiled.policy, input.change, input.context);
}

export function noPolicyDecision(headSha: string): Decision {
  // Keys in canonical (sorted) order, as evaluate's decisions: see canonicalJson.
  return {
    agent: null,
    agents: [],
    cause: { code: "no_policy", params: {} },
    errors: [],
    evaluator_version: EVALUATOR_VERSION,
    files_considered: 0,
    gates: { met: 0, total: 0 },
    head_sha: headSha,
    limits: [],
    outcome: "not_governed",
    rules: [],
    schema: DECISION_SCHEMA,
    unmatched_files: [],
  };
}

/** A decision that could not be reached; it fails closed (a failing check) and says why. */
/** `cause`: a code and its parameters (rows of evaluator 1.5 and earlier may hold `error` with an English headline). */
export function errorDecision(cause: Coded, errors: Decision["errors"], headSha: string): Decision {
  return {
    agent: null,
    agents: [],
    cause,
    errors,
    evaluator_version: EVALUATOR_VERSION,
    files_considered: 0,
    gates: { met: 0, total: 0 },
    head_sha: headSha,
    limits: [],
    outcome: "error",
    rules: [],
    schema: DECISION_SCHEMA,
    unmatched_files: [],
  };
}
