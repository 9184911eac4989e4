// Governor's own log lines, in the format Probot's logger writes (JSON lines with LOG_FORMAT=json, readable text
// otherwise), so that one server's output reads as one stream.
export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal";
export type Log = (level: "info" | "warn" | "error", msg: string, extra?: Record<string, unknown>) => void;

const RANK: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

export function createLog(opts: { level: LogLevel; format: "json" | "pretty"; write: (line: string) => void; name?: string }): Log {
  const name = opts.name ?? "governor";
  return (level, msg, extra = {}) => {
    if (RANK[level] < RANK[opts.level]) return;
    if (opts.format === "json") {
      opts.write(JSON.stringify({ level, time: Date.now(), name, msg, ...extra }));
      return;
    }
    const fields = Object.entries(extra).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
    opts.write(`${level.toUpperCase()} (${name}): ${msg}${fields.length ? ` ${fields.join(" ")}` : ""}`);
  };
}
