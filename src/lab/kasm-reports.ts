/**
 * Live agent reports for the Kasm stand-in: every seeded agent that names the lab engine standing in for it
 * (`engine`) reports, on a period, what that engine really holds, as a Kasm agent reports its images to the
 * manager: `docker_images` `{<image id>: {tags, RepoDigests}}` and `last_reported` now. A lab fault freezes one
 * agent's reports, so its `last_reported` ages as a stalled agent's would (docs/kasm-stand-in.md).
 */
import Docker from "dockerode";
import type { KasmState } from "./kasm-records.js";

/** One image as the engine lists it (`GET /images/json`). */
export type EngineImage = { Id: string; RepoTags?: string[] | null; RepoDigests?: string[] | null };

/** How often the lab's agents report by default: Kasm's agents report every few seconds. */
export const DEFAULT_REPORT_INTERVAL_MS = 1000;

/** An agent's report of an engine's images, in the form get_servers answers it. */
export function dockerImages(
  images: readonly EngineImage[],
): Record<string, { tags: string[]; RepoDigests: string[] }> {
  const report: Record<string, { tags: string[]; RepoDigests: string[] }> = {};
  for (const image of images) {
    // Docker lists an untagged image with `<none>:<none>`: no tag a record could name.
    const tags = (image.RepoTags ?? []).filter((t) => t !== "<none>:<none>");
    const digests = (image.RepoDigests ?? []).filter((d) => !d.startsWith("<none>@"));
    report[image.Id] = { tags, RepoDigests: digests };
  }
  return report;
}

/** The state with one agent's report laid in: what its engine holds, reported at `now`. */
export function withReport(
  state: KasmState,
  serverId: string,
  images: readonly EngineImage[],
  now: Date,
): KasmState {
  return {
    ...state,
    servers: state.servers.map((s) =>
      s.server_id === serverId
        ? { ...s, docker_images: dockerImages(images), last_reported: now.toISOString() }
        : s,
    ),
  };
}

/** A dockerode client for an engine endpoint the lab names (`unix:///…/docker.sock` or `tcp://host:port`). */
export function engineClient(endpoint: string): Docker {
  if (endpoint.startsWith("unix://")) return new Docker({ socketPath: endpoint.slice("unix://".length) });
  const url = new URL(endpoint.replace(/^tcp:/, "http:"));
  return new Docker({ host: url.hostname, port: Number(url.port || 2375), protocol: "http" });
}

export type AgentReports = {
  /** Reports every `ms` from now on. */
  setInterval(ms: number): void;
  intervalMs(): number;
  /** Freezes (or thaws) the reports of the agent with this hostname: its last_reported then ages. */
  freeze(hostname: string, frozen: boolean): void;
  frozen(): string[];
  /** One round of reports now (tests wait on it instead of a period). */
  refresh(): Promise<void>;
  close(): void;
};

/**
 * Starts the reports: each round lists every engine-backed, unfrozen agent's images and lays the reports in.
 * An engine that does not answer leaves its agent's report as it was, so it goes stale, as a real agent's does.
 */
export function startAgentReports(
  state: { get(): KasmState; set(next: KasmState): void },
  intervalMs = DEFAULT_REPORT_INTERVAL_MS,
): AgentReports {
  const frozen = new Set<string>();
  const clients = new Map<string, Docker>();
  let period = intervalMs;
  let running: Promise<void> | undefined;
  const round = async () => {
    const current = state.get();
    const due = current.servers.filter((s) => current.engines[s.server_id] && !frozen.has(s.hostname));
    const answers = await Promise.all(
      due.map(async (s) => {
        const endpoint = current.engines[s.server_id]!;
        if (!clients.has(endpoint)) clients.set(endpoint, engineClient(endpoint));
        try {
          return { id: s.server_id, images: (await clients.get(endpoint)!.listImages()) as EngineImage[] };
        } catch {
          return undefined;
        }
      }),
    );
    let next = state.get();
    const now = new Date();
    for (const answer of answers) {
      // An agent frozen while its engine answered keeps its old report.
      const host = next.servers.find((s) => s.server_id === answer?.id)?.hostname;
      if (answer && host && !frozen.has(host)) next = withReport(next, answer.id, answer.images, now);
    }
    state.set(next);
  };
  const refresh = () => {
    running ??= round().finally(() => {
      running = undefined;
    });
    return running;
  };
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    if (timer) clearInterval(timer);
    timer = setInterval(() => void refresh(), period);
    timer.unref();
  };
  schedule();
  return {
    setInterval(ms) {
      period = ms;
      schedule();
    },
    intervalMs: () => period,
    freeze(hostname, on) {
      if (on) frozen.add(hostname);
      else frozen.delete(hostname);
    },
    frozen: () => [...frozen].sort(),
    refresh,
    close() {
      if (timer) clearInterval(timer);
    },
  };
}
