// Real example payloads from @octokit/webhooks-examples, adjusted per case, and GitHub-style signing.
import { createRequire } from "node:module";
import { sign } from "@octokit/webhooks-methods";

const require = createRequire(import.meta.url);
const examples = require("@octokit/webhooks-examples") as Array<{ name: string; examples: Array<Record<string, unknown>> }>;

/** A deep copy of the first example of `event`.`action`. */
export function example(event: string, action: string): Record<string, unknown> {
  const found = examples.find((e) => e.name === event)?.examples.find((x) => x["action"] === action);
  if (!found) throw new Error(`no example payload for ${event}.${action}`);
  return structuredClone(found);
}

export async function signedHeaders(secret: string, event: string, id: string, body: string): Promise<Record<string, string>> {
  return {
    "content-type": "application/json",
    "x-github-event": event,
    "x-github-delivery": id,
    "x-hub-signature-256": await sign(secret, body),
    "user-agent": "GitHub-Hookshot/test",
  };
}
