// Reads the policies an evaluation needs: the repo's at the PR's base commit, the org's at its default branch.
// Never the head: an agent must not be able to rewrite the rules that judge its own PR.
import type { PolicySource } from "../policy/input.js";
import { POLICY_LIMITS } from "../policy/load.js";
import { ORG_POLICY_PATH, ORG_POLICY_REPO, REPO_POLICY_PATHS } from "../policy/paths.js";
import type { Octokit } from "./ports.js";
import { Lru } from "../util/lru.js";

interface Cached {
  text: string | null;
  /** The org's `.github` repository itself cannot be seen (not in the installation, or absent). */
  unseen?: boolean;
  sha?: string;
  etag?: string;
  at: number;
}

/** How long "the org has no policy" is believed before asking again (a present org policy is revalidated by ETag). */
const ABSENT_TTL_MS = 60_000;

export class PolicyReadError extends Error {
  override name = "PolicyReadError";
}

function describe(error: unknown): string {
  const e = error as { status?: number; message?: string };
  return e.status ? `GitHub answered ${e.status}` : (e.message ?? String(error));
}

/** Policy texts by repo, commit and path. Contents at a commit never change, so those entries never go stale. */
export class PolicyTextCache extends Lru<string, Cached> {
  constructor(max = 2000) {
    super(max);
  }
}

function statusOf(error: unknown): number | undefined {
  return typeof error === "object" && error !== null && "status" in error ? Number(error.status) : undefined;
}

async function readFile(octokit: Octokit, owner: string, repo: string, path: string, ref: string | undefined, etag?: string) {
  try {
    const response = await octokit.rest.repos.getContent({
      owner,
      repo,
      path,
      ...(ref ? { ref } : {}),
      ...(etag ? { headers: { "if-none-match": etag } } : {}),
    });
    const data = response.data as { type?: string; content?: string; encoding?: string; sha?: string; size?: number };
    if (Array.isArray(response.data) || data.type !== "file" || typeof data.content !== "string") {
      throw new PolicyReadError(`${owner}/${repo}:${path} is not a file`);
    }
    // GitHub leaves `content` empty (encoding "none") above 1 MB; either way a policy over the limit is refused unread.
    if ((data.size ?? 0) > POLICY_LIMITS.maxBytes || data.encoding === "none") {
      throw new PolicyReadError(
        `${owner}/${repo}:${path} is ${data.size ?? "over 1,000,000"} bytes; a policy file is limited to ${POLICY_LIMITS.maxBytes} bytes`,
      );
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
  /** Set when Governor cannot see the org's `.github` repository, so cannot know whether an org policy exists. */
  orgUnseen?: string;
}

/**
 * Whether `sha` exists in the repository. A contents 404 means "no such file" only when the commit it was asked at
 * exists; for a commit GitHub does not (yet) know, it means nothing. Commits never disappear, so a yes is cached.
 */
async function commitExists(octokit: Octokit, owner: string, repo: string, sha: string, cache: PolicyTextCache, now: () => number): Promise<boolean> {
  const key = `${owner}/${repo}@${sha}:commit`;
  if (cache.get(key)) return true;
  try {
    await octokit.rest.git.getCommit({ owner, repo, commit_sha: sha });
  } catch (error) {
    const status = statusOf(error);
    if (status === 404 || status === 409 || status === 422) return false;
    throw new PolicyReadError(
      `could not tell whether the base commit ${sha.slice(0, 12)} of ${owner}/${repo} exists (${describe(error)}), so not whether it has a policy`,
    );
  }
  cache.set(key, { text: null, at: now() });
  return true;
}

/** Whether the org's `.github` repository is visible to this installation (404: not included, or absent). */
async function orgRepoVisible(octokit: Octokit, owner: string): Promise<boolean> {
  try {
    await octokit.rest.repos.get({ owner, repo: ORG_POLICY_REPO });
    return true;
  } catch (error) {
    if (statusOf(error) === 404) return false;
    throw new PolicyReadError(`could not tell whether ${owner}/${ORG_POLICY_REPO} exists (${describe(error)}, after retries)`);
  }
}

/**
 * The commit whose policy governs a PR now: its base branch's head. A PR's `base.sha` (webhook or pulls.get) is the
 * base branch's commit when the PR was last updated, so a policy merged since would otherwise go unseen until the next
 * push. A branch GitHub no longer knows (404: renamed or deleted under an open PR) leaves the PR's own base commit.
 */
export async function baseBranchHead(octokit: Octokit, pr: { base: { ref: string; sha: string } }, target: { owner: string; repo: string }): Promise<string> {
  if (!pr.base.ref) return pr.base.sha;
  try {
    const { data } = await octokit.rest.repos.getBranch({ owner: target.owner, repo: target.repo, branch: pr.base.ref });
    return data.commit.sha;
  } catch (error) {
    if (statusOf(error) === 404) return pr.base.sha;
    throw new PolicyReadError(
      `could not read the head of the base branch ${pr.base.ref} of ${target.owner}/${target.repo} (${describe(error)}), so not the policy in force`,
    );
  }
}

export async function readPolicies(
  octokit: Octokit,
  target: { owner: string; repo: string; baseSha: string },
  cache: PolicyTextCache,
  now: () => number,
  /** Called before a read the cache cannot spare (an ETag revalidation excepted: one cheap call, 304 costs no rate limit). */
  beforeRead: () => Promise<void> = () => Promise.resolve(),
): Promise<PolicyTexts> {
  const fullName = `${target.owner}/${target.repo}`;
  const found: PolicySource[] = [];
  for (const path of REPO_POLICY_PATHS) {
    const key = `${fullName}@${target.baseSha}:${path}`;
    let entry = cache.get(key);
    if (!entry) {
      await beforeRead();
      const read = await readFile(octokit, target.owner, target.repo, path, target.baseSha).catch((error: unknown) => {
        throw new PolicyReadError(`could not read ${fullName}:${path} at the base commit ${target.baseSha.slice(0, 12)} (${describe(error)}, after retries)`);
      });
      // Only a definite "no such file at an existing commit" is absence; it is never cached otherwise.
      if (read.status !== "found" && !(await commitExists(octokit, target.owner, target.repo, target.baseSha, cache, now))) {
        throw new PolicyReadError(
          `GitHub does not know the base commit ${target.baseSha.slice(0, 12)} of ${fullName} (404), so Governor cannot tell whether it has a policy`,
        );
      }
      entry = { text: read.status === "found" ? read.text : null, at: now() };
      cache.set(key, entry);
    }
    if (entry.text !== null) found.push({ text: entry.text, path, repo: fullName, sha: target.baseSha });
  }
  const result: PolicyTexts = {};
  if (found.length > 1) result.conflict = `both ${found.map((f) => f.path).join(" and ")} exist on the base branch; keep one policy file`;
  else if (found[0]) result.repo = found[0];

  // The org policy applies to every repository, the org's own .github repository included (also when that has a
  // .governance.yml of its own): a repo policy there can only tighten it, like anywhere else.
  const orgRepo = `${target.owner}/${ORG_POLICY_REPO}`;
  const key = `${orgRepo}:${ORG_POLICY_PATH}`;
  let entry = cache.get(key);
  // With an ETag, every evaluation asks cheaply (a 304 costs no rate limit); without one, an answer (found or absent)
  // is believed for a minute, so a tightened org policy is never ignored for longer than that.
  if (!entry || entry.etag !== undefined || now() - entry.at >= ABSENT_TTL_MS) {
    const known = entry?.text ?? null;
    if (entry?.etag === undefined) await beforeRead();
    let read;
    try {
      read = await readFile(octokit, target.owner, ORG_POLICY_REPO, ORG_POLICY_PATH, undefined, entry?.etag);
    } catch (error) {
      // Fail closed: an org policy is never taken as absent because a read failed (known or not, it may exist).
      throw new PolicyReadError(
        `could not read the org policy ${orgRepo}:${ORG_POLICY_PATH} (${describe(error)}, after retries)${known !== null ? "; the org policy read before is not dropped" : ""}`,
      );
    }
    if (read.status === "found") entry = { text: read.text, ...(read.sha ? { sha: read.sha } : {}), ...(read.etag ? { etag: read.etag } : {}), at: now() };
    else if (read.status === "absent") {
      // A 404 is the same answer for "no such file" and "no such repository, or not one this installation includes".
      await beforeRead();
      const visible = await orgRepoVisible(octokit, target.owner);
      if (!visible && known !== null) {
        throw new PolicyReadError(
          `Governor read the org policy ${orgRepo}:${ORG_POLICY_PATH} before, but can no longer see ${orgRepo}; it fails closed rather than drop the org policy (install Governor on ${orgRepo} again)`,
        );
      }
      entry = visible ? { text: null, at: now() } : { text: null, unseen: true, at: now() };
    }
    if (entry) cache.set(key, entry);
  }
  if (entry?.text !== null && entry?.text !== undefined) {
    result.org = { text: entry.text, path: ORG_POLICY_PATH, repo: orgRepo, ...(entry.sha ? { sha: entry.sha } : {}) };
  } else if (entry?.unseen) {
    result.orgUnseen = `Governor cannot see the organization's ${orgRepo} repository (GitHub answers 404: the installation does not include it, or it does not exist), so it cannot apply an org policy (${ORG_POLICY_PATH}) kept there. Install Governor on ${orgRepo} too.`;
  }
  return result;
}
