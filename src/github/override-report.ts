// How an override shows on the PR: its label, and the check run's Override button.
import type { Decision } from "../policy/decision.js";
import type { Octokit } from "./ports.js";

export const OVERRIDDEN_LABEL = "governance: overridden";
/** The check run's button; GitHub caps identifier and label at 20 characters, description at 40. */
export const OVERRIDE_ACTION = { label: "Override", description: "Break glass: how to override this check", identifier: "governance-override" } as const;
export type CheckAction = { label: string; description: string; identifier: string };

/** The button is offered where the policy names `overrides` and the decision blocks. */
export function checkActions(decision: Decision, overridesConfigured: boolean): CheckAction[] | undefined {
  return overridesConfigured && (decision.outcome === "denied" || decision.outcome === "needs_approval") ? [{ ...OVERRIDE_ACTION }] : undefined;
}

/** The `governance: overridden` label follows the decision: on while an override holds, off after a new push. */
export async function syncOverrideLabel(
  octokit: Octokit,
  t: { owner: string; repo: string; number: number },
  current: readonly string[],
  decision: Decision,
): Promise<void> {
  const has = current.includes(OVERRIDDEN_LABEL);
  if (decision.override && !has) {
    // Adding a label the repository lacks creates it (GitHub does, in the same call).
    await octokit.rest.issues.addLabels({ owner: t.owner, repo: t.repo, issue_number: t.number, labels: [OVERRIDDEN_LABEL] });
  } else if (!decision.override && has) {
    try {
      await octokit.rest.issues.removeLabel({ owner: t.owner, repo: t.repo, issue_number: t.number, name: OVERRIDDEN_LABEL });
    } catch (error) {
      if ((error as { status?: number }).status !== 404) throw error;
    }
  }
}
