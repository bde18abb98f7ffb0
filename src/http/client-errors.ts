import type { Logger } from "pino";

/** What a client did wrong: hung up mid-request, or sent something that is not HTTP. */
export type ClientErrorKind = "aborted" | "malformed";

export type ClientErrorTally = {
  /** Counts once per connection: a hang-up surfaces both on the request and on the socket. */
  add(kind: ClientErrorKind, context: Record<string, unknown>, connection?: object): void;
  /** Logs what was counted since the last summary (on close). */
  flush(): void;
};

/** Half a minute: a flood costs two warn lines a minute, a single abort is still seen at once. */
export const CLIENT_ERROR_SUMMARY_MS = 30_000;

/**
 * Client mistakes are not the daemon's errors: each is a debug line, and a warn line summarises them at most
 * once per window, so a flood of aborted uploads cannot flood the log.
 */
export function createClientErrorTally(
  logger: Pick<Logger, "debug" | "warn">,
  now: () => number,
  windowMs = CLIENT_ERROR_SUMMARY_MS,
): ClientErrorTally {
  const counts: Record<ClientErrorKind, number> = { aborted: 0, malformed: 0 };
  let lastSummary = Number.NEGATIVE_INFINITY;
  const seen = new WeakSet<object>();
  const flush = () => {
    if (counts.aborted + counts.malformed === 0) return;
    logger.warn(
      { ...counts },
      `status server: ${counts.aborted} request(s) aborted by clients, ${counts.malformed} malformed, since the last summary`,
    );
    counts.aborted = 0;
    counts.malformed = 0;
  };
  return {
    add(kind, context, connection) {
      if (connection) {
        if (seen.has(connection)) return;
        seen.add(connection);
      }
      counts[kind]++;
      logger.debug({ ...context, kind }, `status server: client request ${kind}`);
      const time = now();
      if (time - lastSummary >= windowMs) {
        lastSummary = time;
        flush();
      }
    },
    flush,
  };
}
