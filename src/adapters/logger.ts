import { pino } from "pino";

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

/** JSON logs on stderr (stdout belongs to command output), with credentials redacted. */
export function createLogger(level = "info", destination: NodeJS.WritableStream = process.stderr) {
  return pino(
    { level, base: { name: "kasm-gitops" }, redact: { paths: REDACT, censor: "[redacted]" } },
    destination,
  );
}
