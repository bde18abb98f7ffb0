/**
 * A switch's wait for Kasm's own agent reports (core/kasm/report-wait.ts): get_servers is asked every few
 * seconds until every agent that may launch the record reports the image, or the bound passes and the switch
 * is held with what each agent still reports (the next cycle plans it again).
 */
import { describeError, KasmGitopsError } from "../core/errors.js";
import { reportedImages } from "../core/kasm/agents.js";
import { type AwaitReports, DEFAULT_REPORT_WAIT_MS, notYetReported } from "../core/kasm/report-wait.js";
import { DEFAULT_REPORT_MAX_AGE_MS } from "../core/kasm/reports.js";
import type { Clock, KasmApi } from "../ports.js";

/** Kasm's agents check in every few seconds: asking more often than this learns nothing. */
export const REPORT_POLL_MS = 1000;

export type ReportWaitOptions = {
  clock: Clock;
  timeoutMs?: number;
  maxAgeMs?: number;
  signal?: AbortSignal;
};

const seconds = (ms: number) => `${Math.round(ms / 1000)}s`;

/** Resolves once Kasm's reports show the image on every awaited agent; throws `kasm-report-stale` at the bound. */
export async function awaitKasmReports(
  api: Pick<KasmApi, "listServers">,
  wait: AwaitReports,
  options: ReportWaitOptions,
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_REPORT_WAIT_MS;
  const maxAgeMs = options.maxAgeMs ?? DEFAULT_REPORT_MAX_AGE_MS;
  const started = options.clock.now().getTime();
  let last = "";
  for (;;) {
    try {
      const servers = await api.listServers(options.signal);
      const missing = notYetReported(
        wait,
        reportedImages(servers, options.clock.now().toISOString()),
        maxAgeMs,
      );
      if (missing.length === 0) return;
      last = missing.map((m) => `${m.hostname} (${m.state})`).join(", ");
    } catch (error) {
      if (options.signal?.aborted) throw error;
      last = `Kasm's agents could not be read: ${describeError(error)}`;
    }
    const waited = options.clock.now().getTime() - started;
    if (waited >= timeoutMs) {
      const what = wait.digest ? `${wait.image} at ${wait.digest}` : wait.image;
      throw new KasmGitopsError(
        "kasm-report-stale",
        `Kasm's agents did not report ${what} within ${seconds(timeoutMs)}: ${last}. Kasm launches only where an agent reports the image, so the record keeps the current image; the next cycle tries again`,
        { image: wait.image },
      );
    }
    await options.clock.sleep(Math.min(REPORT_POLL_MS, timeoutMs - waited), options.signal);
  }
}
