// Reads the policies an evaluation needs: the repo's at the PR's base commit, the org's at its default branch.
// Never the head: an agent must not be able to rewrite the rules that judge its own PR.
import type { PolicySource } from "../policy/input.js";
import { POLICY_LIMITS } from "../policy/load.js";
import { ORG_POLICY_PATH, ORG_POLICY_REPO, REPO_POLICY_PATHS } from "../policy/paths.js";
import type { Octokit } from "./ports.js";

interface Cached {
  text: string | null;
  sha?: string;
  etag?: string;
  at: number;
}

/** How long "the org has no policy" is believed before asking again (a present org policy is revalidated by ETag). */
const ABSENT_TTL_MS = 60_000;

export class PolicyReadError extends Error {
  override name = "PolicyReadError";
}

/** Policy texts by repo, commit and path. Contents at a commit never change, so those entries never go stale. */
export class PolicyTextCache {
  private readonly entries = new Map<string, Cached>();
  constructor(private readonly max = 2000) {}

  get(key: string): Cached | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: Cached): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as string);
  }
}

function statusOf(error: unknown): number | undefined {
  return typeof error === "object" && error !== null && "status" in error ? Number((error as { status: unknown }).status) : undefined;
}

async function readFile(octokit: Octokit, owner: string, repo: string, path: string, ref: string | undefined, etag?: string) {
  try {
    const response = await octokit.rest.repos.getContent({
      owner, repo, path, ...(ref ? { ref } : {}),
      ...(etag ? { headers: { "if-none-match": etag } } : {}),
    });
    const data = response.data as { type?: string; content?: string; encoding?: string; sha?: string; size?: number };
    if (Array.isArray(response.data) || data.type !== "file" || typeof data.content !== "string") {
      throw new PolicyReadError(`${owner}/${repo}:${path} is not a file`);
    }
    // GitHub leaves `content` empty (encoding "none") above 1 MB; either way a policy over the limit is refused unread.
    if ((data.size ?? 0) > POLICY_LIMITS.maxBytes || data.encoding === "none") {
      throw new PolicyReadError(`${owner}/${repo}:${path} is ${data.size ?? "over 1,000,000"} bytes; a policy file is limited to ${POLICY_LIMITS.maxBytes} bytes`);
    }
    const text = Buffer.from(data.content, data.encoding === "base64" ? "base64" : "utf8").toString("utf8");
    return { status: "found" as const, text, sha: data.sha, etag: response.headers.etag };
  } catch (error) {
    const status = statusOf(error);
    if (status === 404) return { status: "absent" as const };
    if (status === 304) return { status: "unchanged" as const };
    throw error;
  }
}

export interface PolicyTexts {
  repo?: PolicySource;
  org?: PolicySource;
  /** Set when the repo has both policy files: the decision must fail naming both. */
  conflict?: string;
}

export async function readPolicies(
  octokit: Octokit,
  target: { owner: string; repo: string; baseSha: string },
  cache: PolicyTextCache,
  now: () => number,
): Promise<PolicyTexts> {
  const fullName = `${target.owner}/${target.repo}`;
  const found: PolicySource[] = [];
  for (const path of REPO_POLICY_PATHS) {
    const key = `${fullName}@${target.baseSha}:${path}`;
    let entry = cache.get(key);
    if (!entry) {
      const read = await readFile(octokit, target.owner, target.repo, path, target.baseSha);
      entry = { text: read.status === "found" ? read.text : null, at: now() };
      cache.set(key, entry);
    }
    if (entry.text !== null) found.push({ text: entry.text, path, repo: fullName, sha: target.baseSha });
  }
  const result: PolicyTexts = {};
  if (found.length > 1) result.conflict = `both ${found.map((f) => f.path).join(" and ")} exist on the base branch; keep one policy file`;
  else if (found[0]) result.repo = found[0];

  // The org's own .github repository: its governance.yml is both the org policy and, for PRs there, the repo's file.
  if (target.repo !== ORG_POLICY_REPO || !result.repo) {
    const key = `${target.owner}/${ORG_POLICY_REPO}:${ORG_POLICY_PATH}`;
    let entry = cache.get(key);
    // With an ETag, every evaluation asks cheaply (a 304 costs no rate limit); without one, an answer (found or absent)
    // is believed for a minute, so a tightened org policy is never ignored for longer than that.
    if (!entry || entry.etag !== undefined || now() - entry.at >= ABSENT_TTL_MS) {
      const read = await readFile(octokit, target.owner, ORG_POLICY_REPO, ORG_POLICY_PATH, undefined, entry?.etag);
      if (read.status === "found") entry = { text: read.text, ...(read.sha ? { sha: read.sha } : {}), ...(read.etag ? { etag: read.etag } : {}), at: now() };
      else if (read.status === "absent") entry = { text: null, at: now() };
      if (entry) cache.set(key, entry);
    }
    if (entry?.text !== null && entry?.text !== undefined) {
      result.org = { text: entry.text, path: ORG_POLICY_PATH, repo: `${target.owner}/${ORG_POLICY_REPO}`, ...(entry.sha ? { sha: entry.sha } : {}) };
    }
  }
  return result;
}
