/**
 * Zero downtime needs more than the image on the engines: Kasm launches a record only on agents whose own
 * report lists its image, and an agent reports a pull only at its next check-in. A switch that has Kasm's
 * agents in view therefore waits, after its pulls, until every agent that may launch the record reports the
 * image (and the pinned digest, for a record with a hash). Pure: the wait and the reports in, who is missing out.
 */
import type { KasmServerReport, ReportedImages } from "./agents.js";
import { type ReportState, reportState } from "./reports.js";

/**
 * What a switch waits for, as Kasm checks an agent before it launches there: `image` (the record's name) among
 * the agent's reported tags, and, for a record pinned with a `hash`, `digest` among its RepoDigests.
 */
export type AwaitReports = {
  servers: { serverId: string; hostname: string }[];
  image: string;
  digest?: string;
};

/** How long a switch waits for Kasm's reports before it is held (the next cycle tries again). */
export const DEFAULT_REPORT_WAIT_MS = 120_000;

/** The wait for a switch onto `image`, or undefined when no Kasm agent is known to launch it. */
export function reportWait(
  image: string,
  launch: readonly KasmServerReport[] | undefined,
  digest: string | undefined,
): AwaitReports | undefined {
  if (!launch || launch.length === 0) return undefined;
  const servers = launch.map((s) => ({ serverId: s.serverId, hostname: s.hostname }));
  return { servers, image, ...(digest ? { digest } : {}) };
}

/** Each awaited agent whose report does not show the image yet, and what its report says instead. */
export function notYetReported(
  wait: AwaitReports,
  reports: readonly ReportedImages[],
  maxAgeMs: number,
): { hostname: string; state: ReportState }[] {
  const missing: { hostname: string; state: ReportState }[] = [];
  for (const server of wait.servers) {
    const report = reports.find((r) => r.serverId === server.serverId);
    const state = reportState(report, wait.image, wait.digest, maxAgeMs);
    if (state !== "holds") missing.push({ hostname: server.hostname, state });
  }
  return missing;
}
