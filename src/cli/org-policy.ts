// Reads the org policy (governance.yml in the org's .github repository, default branch) with a token, as the app does.
import type { PolicySource } from "../policy/input.js";
import { POLICY_LIMITS } from "../policy/load.js";
import { ORG_POLICY_PATH, ORG_POLICY_REPO } from "../policy/paths.js";
import { UsageError } from "./context.js";

/** The org policy could not be read: the pre-flight stops rather than answer without it (the app would fail closed too). */
export class OrgPolicyError extends UsageError {
  override name = "OrgPolicyError";
}

/** The org's policy, or null when the org has none (404). `apiUrl` is GitHub's REST root (GITHUB_API_URL in Actions). */
export async function fetchOrgPolicy(owner: string, token: string, apiUrl = "https://api.github.com"): Promise<PolicySource | null> {
  // Loaded only when a token asks for it: a check without one never pays for Octokit.
  const { Octokit } = await import("@octokit/rest");
  const octokit = new Octokit({ auth: token, baseUrl: apiUrl.replace(/\/$/, ""), userAgent: "governor-cli", request: { retries: 0 } });
  const where = `${owner}/${ORG_POLICY_REPO}:${ORG_POLICY_PATH}`;
  try {
    const response = await octokit.rest.repos.getContent({ owner, repo: ORG_POLICY_REPO, path: ORG_POLICY_PATH });
    const data = response.data as { type?: string; content?: string; encoding?: string; sha?: string; size?: number };
    if (Array.isArray(response.data) || data.type !== "file" || typeof data.content !== "string") throw new OrgPolicyError(`${where} is not a file`);
    if ((data.size ?? 0) > POLICY_LIMITS.maxBytes || data.encoding === "none")
      throw new OrgPolicyError(`${where} is larger than ${POLICY_LIMITS.maxBytes} bytes`);
    const text = Buffer.from(data.content, data.encoding === "base64" ? "base64" : "utf8").toString("utf8");
    return { text, path: ORG_POLICY_PATH, repo: `${owner}/${ORG_POLICY_REPO}`, ...(data.sha ? { sha: data.sha } : {}) };
  } catch (error) {
    if (error instanceof OrgPolicyError) throw error;
    const status = (error as { status?: number }).status;
    if (status === 404) return null;
    // 401/403 and network failures: an answer without the org policy could be laxer than the app's, so stop.
    throw new OrgPolicyError(
      `cannot read the org policy ${where}: ${status ? `GitHub answered ${status}` : (error as Error).message}; pass --org-policy FILE, or unset GITHUB_TOKEN to check without it`,
    );
  }
}
