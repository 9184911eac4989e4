// The events and actions Governor evaluates: one list for the app's handlers, the inbox's filter and app.yml's test.

export const PULL_REQUEST_ACTIONS = ["opened", "reopened", "synchronize", "ready_for_review", "converted_to_draft", "edited", "labeled", "unlabeled"] as const;
export const REVIEW_ACTIONS = ["submitted", "dismissed", "edited"] as const;
export const RERUN_ACTIONS = ["rerequested"] as const;
/** Re-run, and the check run's Override button. */
export const CHECK_RUN_ACTIONS = ["rerequested", "requested_action"] as const;
/** `/governance release <reason>` and `/governance override <reason>` comments. */
export const COMMENT_ACTIONS = ["created"] as const;
/** A merge queue asks for the required checks of a group commit. */
export const MERGE_GROUP_ACTIONS = ["checks_requested"] as const;
/** A workflow job started (a runaway session is timed from here) or finished: its minutes count against the agent whose workflow it is (compute budgets). */
export const WORKFLOW_JOB_ACTIONS = ["in_progress", "completed"] as const;

/** Pushes have no action; one that changes a policy file re-evaluates the open PRs it governs (policy-push.ts). */
export const PUSH_ACTIONS = [] as const;

export const GOVERNED_EVENTS = {
  pull_request: PULL_REQUEST_ACTIONS,
  pull_request_review: REVIEW_ACTIONS,
  check_run: CHECK_RUN_ACTIONS,
  check_suite: RERUN_ACTIONS,
  issue_comment: COMMENT_ACTIONS,
  merge_group: MERGE_GROUP_ACTIONS,
  workflow_job: WORKFLOW_JOB_ACTIONS,
  push: PUSH_ACTIONS,
} as const;
