// budget_status's client: asks a running Governor (GOVERNOR_URL, GOVERNOR_TOKEN) for an agent's remaining budget.
import { BUDGET_PATH } from "../dashboard/budget-api.js";

const TIMEOUT_MS = 10_000;

export interface GovernorRemote {
  url: string;
  token: string;
}

export class BudgetStatusError extends Error {
  override name = "BudgetStatusError";
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
  }
}

/** GOVERNOR_URL and GOVERNOR_TOKEN, both or neither; a URL must be http(s). */
export function governorRemote(env: Record<string, string | undefined>): GovernorRemote | null {
  const url = env["GOVERNOR_URL"]?.trim();
  const token = env["GOVERNOR_TOKEN"]?.trim();
  if (!url && !token) return null;
  if (!url || !token) throw new BudgetStatusError("set both GOVERNOR_URL and GOVERNOR_TOKEN for budget_status, or neither", null);
  if (!/^https?:\/\//i.test(url)) throw new BudgetStatusError(`GOVERNOR_URL ${url}: expected an http:// or https:// address`, null);
  return { url: url.replace(/\/+$/, ""), token };
}

/** The server's answer (src/dashboard/budget-api.ts BudgetAnswer) as JSON; a refusal or failure as a BudgetStatusError. */
export async function fetchBudget(remote: GovernorRemote, q: { repo: string; agent: string }): Promise<unknown> {
  const url = `${remote.url}${BUDGET_PATH}?${new URLSearchParams({ repo: q.repo, agent: q.agent }).toString()}`;
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${remote.token}`, accept: "application/json" }, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (error) {
    throw new BudgetStatusError(`Governor at ${remote.url} did not answer: ${error instanceof Error ? error.message : String(error)}`, null);
  }
  const text = await res.text();
  if (res.status === 401)
    throw new BudgetStatusError(`Governor at ${remote.url} refused GOVERNOR_TOKEN (401): ask its operator for a token in GOVERNOR_API_TOKENS.`, 401);
  if (res.status === 404) throw new BudgetStatusError(`Governor at ${remote.url} has no budget endpoint (404): its GOVERNOR_API_TOKENS is not set.`, 404);
  if (!res.ok) throw new BudgetStatusError(`Governor at ${remote.url} answered ${res.status}: ${text.slice(0, 300)}`, res.status);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BudgetStatusError(`Governor at ${remote.url} answered something other than JSON`, res.status);
  }
}
