// Where policies live. Shared by the app (reads them at the base SHA), the CLI and the evaluator's built-in policy gate.

/** The repo policy: either file at the repo root (both present is an error). */
export const REPO_POLICY_PATHS = [".governance.yml", ".github/governance.yml"] as const;
/** The org policy: this file in the org's `.github` repository, default branch. */
export const ORG_POLICY_REPO = ".github";
export const ORG_POLICY_PATH = "governance.yml";

/** Paths whose change always needs the owners, whatever the rules say: the policy must not be weakened by what it governs. */
export function isPolicyFile(path: string, repoName: string): boolean {
  if ((REPO_POLICY_PATHS as readonly string[]).includes(path)) return true;
  return repoName === ORG_POLICY_REPO && path === ORG_POLICY_PATH;
}
