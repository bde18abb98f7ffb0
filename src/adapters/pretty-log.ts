/**
 * `--log-format pretty`: each pino record as one line a person can read, e.g.
 * `2026-11-30T17:20:01.123Z INFO  pull done agent=a1 workspace=chrome image=… revision=… cycle=3 ms=812`.
 * A few lines of our own instead of pino-pretty: it prints fields as an indented block or a JSON object,
 * not key=value, and would add a dozen packages to the daemon's image.
 */

export const LOG_FORMATS = ["json", "pretty"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The fields an operator looks for first, in this order; the rest follow as the record has them. */
const FIRST = ["agent", "workspace", "image", "revision", "cycle"];
/** pino's own fields, shown as the line's start (time, level, message) or not at all (name). */
const OWN = new Set(["time", "level", "msg", "name", "pid", "hostname"]);
const LEVELS: Record<number, { name: string; color: string }> = {
  10: { name: "TRACE", color: "90" },
  20: { name: "DEBUG", color: "90" },
  30: { name: "INFO", color: "32" },
  40: { name: "WARN", color: "33" },
  50: { name: "ERROR", color: "31" },
  60: { name: "FATAL", color: "31;1" },
};

/** A value as `key=` takes it: bare when it is one plain word, JSON otherwise, so the line stays one line. */
function formatValue(value: unknown): string {
  if (typeof value === "string") return /^[^\s"=\\\p{Cc}]+$/u.test(value) ? value : JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || value === null) return String(value);
  // pino's error serializer: the message is what a person reads; the stack stays in JSON logs.
  if (typeof value === "object" && "message" in value && "stack" in value)
    return JSON.stringify(String(value.message));
  return JSON.stringify(value) ?? String(value);
}

/** One record (pino's JSON, parsed) as one line of text, coloured by level when `color`. */
export function prettyLine(record: Record<string, unknown>, color: boolean): string {
  const time =
    typeof record.time === "number" ? new Date(record.time).toISOString() : String(record.time ?? "");
  const level = LEVELS[Number(record.level)] ?? { name: String(record.level).toUpperCase(), color: "0" };
  const label = level.name.padEnd(5);
  const keys = [
    ...FIRST.filter((key) => key in record),
    ...Object.keys(record).filter((key) => !OWN.has(key) && !FIRST.includes(key)),
  ];
  const fields = keys
    .filter((key) => record[key] !== undefined)
    .map((key) => `${key}=${formatValue(record[key])}`);
  const message = String(record.msg ?? "").replace(/\s*\n\s*/g, " ");
  const head = `${time} ${color ? `\x1b[${level.color}m${label}\x1b[0m` : label} ${message}`;
  return `${[head, ...fields].join(" ")}\n`;
}

/** A pino destination that writes pretty lines to `out`; a line that is not JSON passes through as it is. */
export function prettyDestination(out: NodeJS.WritableStream, color: boolean) {
  return {
    write(chunk: string) {
      for (const line of chunk.split("\n")) {
        if (!line) continue;
        let record: Record<string, unknown>;
        try {
          record = JSON.parse(line) as Record<string, unknown>;
        } catch {
          out.write(`${line}\n`);
          continue;
        }
        out.write(prettyLine(record, color));
      }
      return true;
    },
  };
}
