// The Octokit Governor talks to GitHub with: Probot's, with retries, a per-attempt timeout, rate-limit waits and metrics.
import { ProbotOctokit } from "probot";
import { httpFetch } from "./http-fetch.js";

/** Bounded retries after a rate limit: wait what GitHub says (retry-after / reset), up to a minute, at most 3 times. */
const RATE_LIMIT_RETRIES = 3;
const MAX_WAIT_SECONDS = 60;

export interface OctokitTuning {
  /** Retries of 5xx answers, network errors and timeouts. Default 3. */
  retries?: number;
  /** Base of the retry back-off in milliseconds: the n-th retry waits n² times this. */
  retryAfterBaseValue?: number;
  /** Called around every request, for latency metrics. */
  onRequest?: (route: string) => (status: string) => void;
  /** Abort a request GitHub has not answered in this time (then it is retried). Default 10 s. */
  timeoutMs?: number;
}

/** How long GitHub asks us to wait, in seconds, when an error is a rate limit; undefined when it is not one. */
export function rateLimitWait(error: unknown, now = Date.now()): number | undefined {
  const e = error as { status?: number; message?: string; response?: { headers?: Record<string, string | undefined> } };
  if (e.status !== 403 && e.status !== 429) return undefined;
  const headers = e.response?.headers ?? {};
  const retryAfter = Number(headers["retry-after"]);
  if (Number.isFinite(retryAfter) && retryAfter >= 0 && headers["retry-after"] !== undefined) return retryAfter;
  if (headers["x-ratelimit-remaining"] === "0") {
    const reset = Number(headers["x-ratelimit-reset"]);
    return Number.isFinite(reset) ? Math.max(0, Math.ceil(reset - now / 1000)) : 60;
  }
  // A secondary limit without retry-after: GitHub documents waiting at least a minute.
  if (e.status === 429 || /secondary rate limit/i.test(e.message ?? "")) return 60;
  return undefined;
}

/** Whether an error is worth another attempt: GitHub's 5xx, and requests that got no answer (network, timeout). */
export function isTransient(error: unknown): boolean {
  const status = (error as { status?: number }).status;
  return status === undefined || status >= 500;
}

/**
 * Creating a check run is the one call that is not safe to repeat blindly: GitHub may have created the run before the
 * answer was lost. It is left to the caller, whose ledger then looks the run up before creating another.
 */
function createsCheckRun(options: { method: string; url: string }): boolean {
  return options.method === "POST" && /\/check-runs$/.test(options.url);
}

/** A low-cardinality route for metrics: pagination hands Octokit full URLs, which must not become label values. */
export function routeLabel(method: string, url: string): string {
  let path = url
    .replace(/^https?:\/\/[^/]+/, "")
    .replace(/^\/api\/v3/, "")
    .replace(/^\/api\/graphql$/, "/graphql") // GitHub Enterprise Server's GraphQL endpoint
    .replace(/\?.*$/, "");
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
  type Hookable = {
    hook: {
      wrap: (
        name: "request",
        fn: (
          request: (o: unknown) => Promise<{ status: number }>,
          options: { method: string; url: string; request?: Record<string, unknown> },
        ) => Promise<unknown>,
      ) => void;
    };
  };
  const timeoutMs = tuning.timeoutMs ?? 10_000;
  const retries = tuning.retries ?? 3;
  const baseMs = tuning.retryAfterBaseValue ?? 1000;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const timing = (octokit: Hookable) => {
    const onRequest = tuning.onRequest ?? (() => () => undefined);
    octokit.hook.wrap("request", async (request, options) => {
      let rateLimited = 0;
      let failed = 0;
      for (;;) {
        const end = onRequest(routeLabel(options.method, options.url));
        try {
          const response = await request(options);
          end(String(response.status));
          return response;
        } catch (error) {
          end(String((error as { status?: number }).status ?? "error"));
          // GitHub's primary and secondary rate limits: wait what it says (retry-after, or until the reset), then retry.
          const wait = rateLimitWait(error);
          if (wait !== undefined) {
            if (rateLimited++ >= RATE_LIMIT_RETRIES || wait > MAX_WAIT_SECONDS) throw error;
            await sleep(wait * 1000);
          } else if (isTransient(error) && failed < retries && !createsCheckRun(options)) {
            failed += 1;
            await sleep(baseMs * failed * failed); // the n-th retry waits n² x base, as Octokit's retry plugin does
          } else {
            throw error;
          }
        }
      }
    });
  };
  // A function, not an object: Probot passes its own throttle options at construction, and they must not win.
  // Octokit has no timeout of its own: a GitHub that never answers would hold an evaluation forever. The timeout is
  // set on each HTTP attempt (not around the whole call), so waiting out a retry-after does not count against it.
  // The fetch is node:http(s) over keep-alive agents, one pair per Octokit class (src/github/http-fetch.ts says why).
  const timedFetch = httpFetch({ timeoutMs });
  return ProbotOctokit.plugin(timing as never).defaults<typeof ProbotOctokit>((options: Record<string, unknown>) => ({
    ...options,
    request: { ...(options["request"] as object | undefined), fetch: timedFetch },
    // Octokit's throttling and retry plugins are off, and their work is done in the hook above. Both run every call
    // through Bottleneck queues: measured on the simulator, 2.1 ms a call bare, 6.5 ms with the retry plugin, 16.6 ms
    // with both, for an app that makes 4 to 10 calls a decision. The throttling plugin also spaces all writes a second
    // apart in one global queue, which would cap a whole org at one check update per second. Concurrency is bounded per
    // installation by the worker instead, and rate-limit answers are waited out as the plugin would.
    throttle: { ...(options["throttle"] as object | undefined), enabled: false },
    retry: { ...(options["retry"] as object | undefined), enabled: false },
  }));
}
