// The fetch Octokit sends Governor's GitHub calls through: node:http(s) over keep-alive agents, not the global fetch.
// Measured on this machine against a loopback server, the global fetch (undici's WHATWG fetch, its streams and an
// AbortSignal.timeout per attempt) costs about 700 µs of CPU a request, this about 150 µs; Governor makes 3 to 5 calls a
// decision, so that was a third of its CPU. undici's own request API is as fast, but it bypasses node:http, which the
// unit tests' GitHub double (nock) intercepts; node:http is the platform's client and needs no dependency.
// Only what @octokit/request uses is implemented: method, headers, a string or byte body, redirect, signal; the
// response's status, statusText, url, headers, text(), json(), arrayBuffer() and body.
import http from "node:http";
import https from "node:https";

/** fetch's redirect limit. */
const MAX_REDIRECTS = 20;

export interface HttpFetchOptions {
  /** An attempt GitHub has not fully answered in this time fails (Octokit reports it as a 500; the caller retries). */
  timeoutMs: number;
}

export interface HttpFetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array | null;
  redirect?: "follow" | "manual" | "error";
  signal?: AbortSignal | null;
}

/** An answer, complete in memory: GitHub's REST and GraphQL answers are JSON documents, read whole by Octokit anyway. */
export class HttpFetchResponse {
  constructor(
    readonly status: number,
    readonly statusText: string,
    readonly url: string,
    readonly headers: Headers,
    private readonly bytes: Buffer,
  ) {}

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  get body(): ReadableStream<Uint8Array> {
    return new Blob([this.bytes]).stream();
  }

  // Promises, as fetch's are; the bytes are already here.
  text(): Promise<string> {
    return Promise.resolve(this.bytes.toString("utf8"));
  }

  json(): Promise<unknown> {
    return this.text().then((text) => JSON.parse(text) as unknown);
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return Promise.resolve(new Uint8Array(this.bytes).buffer);
  }
}

/** A failed attempt, named as fetch names it (TimeoutError, AbortError), with the URL it was for. */
export class HttpFetchError extends Error {
  constructor(
    message: string,
    override readonly name: "TimeoutError" | "AbortError" | "TypeError",
    readonly url: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function headersOf(raw: http.IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.append(name, value);
  }
  return headers;
}

/** Where a redirect leads, and how: fetch's rules (303, and 301/302 after a POST, become a GET without a body). */
function redirected(from: URL, status: number, location: string, init: HttpFetchInit): { url: URL; init: HttpFetchInit } {
  const url = new URL(location, from);
  const method = (init.method ?? "GET").toUpperCase();
  const toGet = status === 303 ? method !== "HEAD" : (status === 301 || status === 302) && method === "POST";
  const headers = { ...init.headers };
  // A credential is for the origin it was given to, never another.
  if (url.origin !== from.origin) for (const name of Object.keys(headers)) if (name.toLowerCase() === "authorization") delete headers[name];
  if (toGet) for (const name of Object.keys(headers)) if (/^content-(type|length)$/i.test(name)) delete headers[name];
  return { url, init: { ...init, headers, ...(toGet ? { method: "GET", body: null } : {}) } };
}

/** A fetch for Octokit (`request: { fetch }`), with keep-alive agents of its own. */
export function httpFetch(options: HttpFetchOptions): (input: string | URL, init?: HttpFetchInit) => Promise<HttpFetchResponse> {
  const clients = {
    "http:": { request: http.request, agent: new http.Agent({ keepAlive: true }) },
    "https:": { request: https.request, agent: new https.Agent({ keepAlive: true }) },
  };

  const once = (url: URL, init: HttpFetchInit): Promise<HttpFetchResponse> =>
    new Promise((resolve, reject) => {
      const signal = init.signal ?? undefined;
      if (signal?.aborted) return reject(new HttpFetchError("This operation was aborted", "AbortError", url.href, { cause: signal.reason }));
      const client = url.protocol === "http:" || url.protocol === "https:" ? clients[url.protocol] : undefined;
      if (!client) return reject(new HttpFetchError(`unsupported protocol ${url.protocol}`, "TypeError", url.href));
      const body = init.body ?? undefined;
      // Octokit hands over whatever a caller gave it; a stream or form would otherwise fail deep in node:http.
      if (body !== undefined && typeof body !== "string" && !(body instanceof Uint8Array))
        return reject(new HttpFetchError("a request body must be a string or bytes", "TypeError", url.href));
      const req = client.request(url, { method: init.method ?? "GET", headers: init.headers, agent: client.agent });
      const settled = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      const fail = (error: Error) => {
        settled();
        req.destroy();
        reject(error);
      };
      const timer = setTimeout(
        () => fail(new HttpFetchError(`no complete answer within ${options.timeoutMs} ms`, "TimeoutError", url.href)),
        options.timeoutMs,
      );
      const onAbort = () => fail(new HttpFetchError("This operation was aborted", "AbortError", url.href, { cause: signal?.reason }));
      signal?.addEventListener("abort", onAbort, { once: true });
      req.on("error", (error) => fail(new HttpFetchError(`fetch failed: ${error.message}`, "TypeError", url.href, { cause: error })));
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", (error) => fail(new HttpFetchError(`fetch failed: ${error.message}`, "TypeError", url.href, { cause: error })));
        res.on("end", () => {
          settled();
          resolve(new HttpFetchResponse(res.statusCode ?? 0, res.statusMessage ?? "", url.href, headersOf(res.headers), Buffer.concat(chunks)));
        });
      });
      req.end(body);
    });

  return async (input, init = {}) => {
    let url = new URL(input);
    let current = init;
    for (let hops = 0; ; hops += 1) {
      const response = await once(url, current);
      const location = response.headers.get("location");
      if (![301, 302, 303, 307, 308].includes(response.status) || location === null || current.redirect === "manual") return response;
      if (current.redirect === "error") throw new HttpFetchError(`redirected to ${location}, and redirects are refused`, "TypeError", url.href);
      if (hops >= MAX_REDIRECTS) throw new HttpFetchError(`more than ${MAX_REDIRECTS} redirects`, "TypeError", url.href);
      ({ url, init: current } = redirected(url, response.status, location, current));
    }
  };
}
