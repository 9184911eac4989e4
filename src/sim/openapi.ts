// Request validation against GitHub's published OpenAPI description (@octokit/openapi), compiled once per operation
// per process: every simulator in a process shares the compiled validators (compiling them per instance made tests
// that start many simulators slow enough to time out).
import { createRequire } from "node:module";
import { Ajv, type ValidateFunction } from "ajv";

interface Operation {
  parameters?: Array<{ name: string; in: string; required?: boolean; schema?: Record<string, unknown> } | { $ref: string }>;
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Record<string, unknown> }> };
}

interface Spec {
  paths: Record<string, Record<string, Operation>>;
  components: Record<string, Record<string, unknown>>;
}

export interface RouteMatch {
  /** The OpenAPI path template, e.g. `/repos/{owner}/{repo}/check-runs`. */
  template: string;
  params: Record<string, string>;
}

export interface ValidationIssue {
  resource: string;
  field: string;
  code: string;
  message: string;
}

let spec: Spec | undefined;
function loadSpec(): Spec {
  // Read once per process, and only when a simulator starts. The build (scripts/build.mjs) writes the part of the
  // description the simulator serves next to the compiled module; from the sources, the whole package is read.
  const require = createRequire(import.meta.url);
  try {
    spec ??= require("./github-api.json") as Spec;
  } catch {
    spec ??= require("@octokit/openapi/generated/api.github.com.json") as Spec;
  }
  return spec;
}

let ajv: Ajv | undefined;
const validators = new Map<string, ValidateFunction | null>();

/** Matches paths to the templates of the operations the simulator serves, and validates bodies by the spec. */
export class OpenApiValidator {
  private readonly templates: Array<{ template: string; re: RegExp; names: string[] }>;

  constructor(served: readonly string[]) {
    const paths = loadSpec().paths;
    this.templates = served
      .map((template) => {
        if (!paths[template]) throw new Error(`the OpenAPI description has no path ${template}`);
        const names: string[] = [];
        const re = new RegExp(
          `^${template.replace(/\{([^}]+)\}/g, (_, name: string) => {
            names.push(name);
            return name === "path" || name === "name" ? "(.+)" : "([^/]+)";
          })}$`,
        );
        return { template, re, names };
      })
      .sort((a, b) => b.template.length - a.template.length);
  }

  match(path: string): RouteMatch | null {
    for (const t of this.templates) {
      const m = t.re.exec(path);
      if (!m) continue;
      const params: Record<string, string> = {};
      t.names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1] ?? "")));
      return { template: t.template, params };
    }
    return null;
  }

  hasMethod(template: string, method: string): boolean {
    return Boolean(loadSpec().paths[template]?.[method.toLowerCase()]);
  }

  /** Validation problems of a JSON body, in GitHub's `errors` shape; empty when valid. */
  validateBody(template: string, method: string, body: unknown): ValidationIssue[] {
    const key = `${method} ${template}`;
    let validate = validators.get(key);
    if (validate === undefined) {
      const op = loadSpec().paths[template]?.[method.toLowerCase()];
      const schema = op?.requestBody?.content?.["application/json"]?.schema;
      ajv ??= new Ajv({ strict: false, allErrors: true, validateFormats: false });
      validate = schema ? ajv.compile({ ...schema, components: loadSpec().components }) : null;
      validators.set(key, validate);
    }
    if (!validate) return [];
    if (validate(body)) return [];
    return (validate.errors ?? []).slice(0, 10).map((e) => ({
      resource:
        template
          .split("/")
          .filter((s) => s && !s.startsWith("{"))
          .pop() ?? "Request",
      field: e.instancePath.replace(/^\//, "").replace(/\//g, ".") || (e.params as { missingProperty?: string }).missingProperty || "",
      code: e.keyword === "required" ? "missing_field" : "invalid",
      message: `${e.instancePath || "body"} ${e.message ?? "is invalid"}`,
    }));
  }
}
