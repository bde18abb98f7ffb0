import { pino } from "pino";
import { type LogFormat, prettyDestination } from "./pretty-log.js";

/** Paths pino blanks wherever they appear: credentials must never reach a log line. */
export const REDACT = [
  "password",
  "token",
  "authorization",
  "credentials",
  "auth",
  "*.password",
  "*.token",
  "*.authorization",
  "*.credentials",
  "*.auth",
  "headers.authorization",
  "apiKey",
  "apiKeySecret",
  "api_key",
  "api_key_secret",
  "docker_token",
  "dockerToken",
  "*.apiKey",
  "*.apiKeySecret",
  "*.api_key",
  "*.api_key_secret",
  "*.docker_token",
  "*.dockerToken",
];

export type LoggerOptions = {
  /** `json` (default) for machines, `pretty` for people: one readable line per record. */
  format?: LogFormat;
  /** Colour the level of pretty lines (the caller knows whether the destination is a terminal). */
  color?: boolean;
  destination?: NodeJS.WritableStream;
};

/** Logs on stderr (stdout belongs to command output), with credentials redacted before any format sees them. */
export function createLogger(level = "info", options: LoggerOptions = {}) {
  const out = options.destination ?? process.stderr;
  return pino(
    { level, base: { name: "kasm-gitops" }, redact: { paths: REDACT, censor: "[redacted]" } },
    options.format === "pretty" ? prettyDestination(out, options.color ?? false) : out,
  );
}
