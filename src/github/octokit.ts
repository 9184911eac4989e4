// The Octokit Governor talks to GitHub with: Probot's (retry + throttling plugins), tuned for an app that governs a whole org.
import { ProbotOctokit } from "probot";

/** Bounded retries after a rate limit: wait what GitHub says (retry-after / reset), up to a minute, at most 3 times. */
const RATE_LIMIT_RETRIES = 3;
const MAX_WAIT_SECONDS = 60;

export interface OctokitTuning {
  /** Retries of 5xx answers and network errors (the retry plugin). */
  retries?: number;
  /** Base of the retry back-off in seconds (tests use a small one). */
  retryAfterBaseValue?: number;
  /** Called around every request, for latency metrics. */
  onRequest?: (route: string) => (status: string) => void;
}

/**
 * The throttling plugin spaces all writes one second apart in one global queue (GitHub's advice for a single user).
 * For an app serving many repositories that caps the whole org at one check update per second; Governor instead
 * bounds concurrency per installation in its worker and reacts to GitHub's actual 403/429 answers with retry-after.
 */
const unthrottledWrites = { key: () => ({ schedule: <A extends unknown[], R>(_: unknown, fn: (...args: A) => R, ...args: A) => fn(...args) }) };

export function governorOctokit(tuning: OctokitTuning = {}): typeof ProbotOctokit {
  const retryLimited = (retryAfter: number, options: { request: { retryCount: number } }) =>
    options.request.retryCount < RATE_LIMIT_RETRIES && retryAfter <= MAX_WAIT_SECONDS;
  type Hookable = { hook: { wrap: (name: "request", fn: (request: (o: unknown) => Promise<{ status: number }>, options: { method: string; url: string }) => Promise<unknown>) => void } };
  const timing = (octokit: Hookable) => {
    const onRequest = tuning.onRequest;
    if (!onRequest) return;
    octokit.hook.wrap("request", async (request, options) => {
      const end = onRequest(`${options.method} ${options.url}`);
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
  return ProbotOctokit.plugin(timing as never).defaults((options: Record<string, unknown>) => ({
    ...options,
    throttle: { ...(options["throttle"] as object | undefined), enabled: true, onRateLimit: retryLimited, onSecondaryRateLimit: retryLimited, write: unthrottledWrites },
    retry: { retries: tuning.retries ?? 3, ...(tuning.retryAfterBaseValue !== undefined ? { retryAfterBaseValue: tuning.retryAfterBaseValue } : {}) },
  })) as typeof ProbotOctokit;
}
