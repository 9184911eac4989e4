// The Octokit Governor talks to GitHub with: Probot's (retry + throttling plugins), tuned for an app that governs a whole org.
import { ProbotOctokit } from "probot";

/** Bounded retries after a rate limit: wait what GitHub says (retry-after / reset), up to a minute, at most 3 times. */
const RATE_LIMIT_RETRIES = 3;
const MAX_WAIT_SECONDS = 60;

export interface OctokitTuning {
  /** Retries of 5xx answers and network errors (the retry plugin). */
  retries?: number;
  /** Base of the retry back-off in milliseconds: the n-th retry waits n² times this. */
  retryAfterBaseValue?: number;
  /** Called around every request, for latency metrics. */
  onRequest?: (route: string) => (status: string) => void;
  /** Abort a request GitHub has not answered in this time (then the retry plugin retries it). Default 10 s. */
  timeoutMs?: number;
}

/**
 * The throttling plugin spaces all writes one second apart in one global queue (GitHub's advice for a single user).
 * For an app serving many repositories that caps the whole org at one check update per second; Governor instead
 * bounds concurrency per installation in its worker and reacts to GitHub's actual 403/429 answers with retry-after.
 */
const unthrottledWrites = { key: () => ({ schedule: <A extends unknown[], R>(_: unknown, fn: (...args: A) => R, ...args: A) => fn(...args) }) };

/** A low-cardinality route for metrics: pagination hands Octokit full URLs, which must not become label values. */
export function routeLabel(method: string, url: string): string {
  let path = url.replace(/^https?:\/\/[^/]+/, "").replace(/^\/api\/v3/, "").replace(/\?.*$/, "");
  path = path
    .replace(/\{(pull_number|issue_number|check_run_id|installation_id)\}/g, "{number}")
    .replace(/^\/repos\/[^/{]+\/[^/{]+/, "/repos/{owner}/{repo}")
    .replace(/^\/orgs\/[^/{]+\/teams\/[^/{]+/, "/orgs/{org}/teams/{team_slug}")
    .replace(/\/contents\/.*$/, "/contents/{path}")
    .replace(/\/labels\/[^/]+$/, "/labels/{name}")
    .replace(/\/[0-9a-f]{40}(?=\/|$)/g, "/{sha}")
    .replace(/\/\d+(?=\/|$)/g, "/{number}");
  return `${method} ${path}`;
}

export function governorOctokit(tuning: OctokitTuning = {}): typeof ProbotOctokit {
  const retryLimited = (retryAfter: number, options: { request: { retryCount: number } }) =>
    options.request.retryCount < RATE_LIMIT_RETRIES && retryAfter <= MAX_WAIT_SECONDS;
  type Hookable = { hook: { wrap: (name: "request", fn: (request: (o: unknown) => Promise<{ status: number }>, options: { method: string; url: string; request?: Record<string, unknown> }) => Promise<unknown>) => void } };
  const timeoutMs = tuning.timeoutMs ?? 10_000;
  const timing = (octokit: Hookable) => {
    const onRequest = tuning.onRequest ?? (() => () => undefined);
    octokit.hook.wrap("request", async (request, options) => {
      const end = onRequest(routeLabel(options.method, options.url));
      try {
        const response = await request(options);
        end(String(response.status));
        return response;
      } catch (error) {
        end(String((error as { status?: number }).status ?? "error"));
        throw error;
      }
    });
  };
  // A function, not an object: Probot passes its own throttle options at construction, and they must not win.
  // Octokit has no timeout of its own: a GitHub that never answers would hold an evaluation forever. The timeout is
  // set on each HTTP attempt (not around the whole call), so waiting out a retry-after does not count against it.
  const timedFetch = (url: string | URL | Request, init?: RequestInit) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    return fetch(url, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout });
  };
  return ProbotOctokit.plugin(timing as never).defaults((options: Record<string, unknown>) => ({
    ...options,
    request: { ...(options["request"] as object | undefined), fetch: timedFetch },
    throttle: { ...(options["throttle"] as object | undefined), enabled: true, onRateLimit: retryLimited, onSecondaryRateLimit: retryLimited, write: unthrottledWrites },
    retry: { retries: tuning.retries ?? 3, ...(tuning.retryAfterBaseValue !== undefined ? { retryAfterBaseValue: tuning.retryAfterBaseValue } : {}) },
  })) as typeof ProbotOctokit;
}
