/**
 * The stand-in's agents at work: each session Kasm placed gets a real container from the record's image on
 * the lab engine standing in for its agent, reported running only when Docker says it runs, and stopped when
 * it exits; a destroyed session's container is removed. Without an engine, a session stays starting.
 */
import Docker from "dockerode";
import { dockerConnection } from "../adapters/docker-host.js";
import type { KasmState } from "./kasm-records.js";
import { type DigestsOf, sessionRan, sessionStopped } from "./kasm-sessions.js";

/** How long a session's container must keep running after its start before the session is running. */
const READY_MS = 500;

/** The labels that tie a lab container to the session it stands for, and to the stand-in that made it. */
export const SESSION_LABEL = "org.kasm-gitops.lab.kasm";
export const OWNER_LABEL = "org.kasm-gitops.lab.stand-in";
const TICK_MS = 200;

export type SessionRunner = {
  /** What the agents' engines hold of `name` (RepoDigests), for placing a record with a hash. */
  digestsOf(state: KasmState, name: string): Promise<DigestsOf>;
  /** Removes every session container (the stand-in closing). */
  close(): Promise<void>;
};

/**
 * Watches the state through `read` and changes it only through `update` (a synchronous edit of a copy),
 * one tick at a time, so the API's calls and the runner never interleave inside an edit.
 */
export function startSessionRunner(
  read: () => KasmState,
  update: (edit: (state: KasmState) => void) => void,
  owner: string,
): SessionRunner {
  // Stand-ins share the lab's engines: each looks only at the containers it made.
  const mineFilter = { label: [`${OWNER_LABEL}=${owner}`] };
  const clients = new Map<string, Docker>();
  const docker = (endpoint: string) => {
    const client = clients.get(endpoint) ?? new Docker(dockerConnection(endpoint));
    clients.set(endpoint, client);
    return client;
  };
  const starting = new Set<string>();
  let stopped = false;
  let running: Promise<void> = Promise.resolve();

  const start = async (kasmId: string, endpoint: string, image: string) => {
    let containerId: string | undefined;
    try {
      const container = await docker(endpoint).createContainer({
        Image: image,
        Labels: { [SESSION_LABEL]: kasmId, [OWNER_LABEL]: owner },
        HostConfig: { NetworkMode: "none" },
      });
      containerId = container.id;
      await container.start();
      // Kasm calls a session running once its services answer, not the moment its container starts: one
      // still running after READY_MS is up, and one that exits at once never ran.
      await new Promise((resolve) => setTimeout(resolve, READY_MS));
      const info = await container.inspect();
      update((state) =>
        info.State.Running
          ? sessionRan(state, kasmId, container.id, new Date())
          : sessionStopped(state, kasmId, exitText(info.State), container.id),
      );
    } catch (error) {
      update((state) => sessionStopped(state, kasmId, (error as Error).message, containerId));
    } finally {
      starting.delete(kasmId);
    }
  };

  const tick = async () => {
    const state = read();
    const live = new Set(state.kasms.map((k) => k.kasm_id));
    for (const kasm of state.kasms) {
      const endpoint = state.engines[kasm.server_id];
      const image = state.images.find((i) => i.image_id === kasm.image_id);
      if (!endpoint || !image?.name || state.held.includes(kasm.image_id)) continue;
      if (kasm.operational_status === "starting" && !kasm.container_id && !starting.has(kasm.kasm_id)) {
        starting.add(kasm.kasm_id);
        void start(kasm.kasm_id, endpoint, image.name);
      }
    }
    for (const endpoint of new Set(Object.values(state.engines))) {
      const containers = await docker(endpoint)
        .listContainers({ all: true, filters: mineFilter })
        .catch(() => undefined);
      if (!containers) continue;
      const present = new Set(containers.map((c) => c.Id));
      for (const kasm of state.kasms)
        if (
          kasm.operational_status === "running" &&
          state.engines[kasm.server_id] === endpoint &&
          kasm.container_id &&
          !present.has(kasm.container_id)
        )
          update((s) => sessionStopped(s, kasm.kasm_id, "the session's container is gone"));
      for (const c of containers) {
        const kasmId = c.Labels[SESSION_LABEL] ?? "";
        const kasm = state.kasms.find((k) => k.kasm_id === kasmId);
        if (!live.has(kasmId) && !starting.has(kasmId)) {
          await docker(endpoint)
            .getContainer(c.Id)
            .remove({ force: true })
            .catch(() => undefined);
        } else if (kasm?.operational_status === "running" && c.State !== "running") {
          const info = await docker(endpoint)
            .getContainer(c.Id)
            .inspect()
            .catch(() => undefined);
          update((s) => sessionStopped(s, kasmId, info ? exitText(info.State) : c.Status));
        }
      }
    }
  };

  const loop = async () => {
    while (!stopped) {
      running = tick().catch(() => undefined);
      await running;
      await new Promise((resolve) => setTimeout(resolve, TICK_MS));
    }
  };
  void loop();

  return {
    async digestsOf(state, name) {
      const known = new Map<string, readonly string[]>();
      await Promise.all(
        Object.entries(state.engines).map(async ([serverId, endpoint]) => {
          const info = await docker(endpoint)
            .getImage(name)
            .inspect()
            .catch(() => undefined);
          if (info) known.set(serverId, info.RepoDigests ?? []);
        }),
      );
      return (serverId) => known.get(serverId);
    },
    async close() {
      stopped = true;
      await running;
      const state = read();
      for (const endpoint of new Set(Object.values(state.engines))) {
        const containers = await docker(endpoint)
          .listContainers({ all: true, filters: mineFilter })
          .catch(() => []);
        for (const c of containers)
          await docker(endpoint)
            .getContainer(c.Id)
            .remove({ force: true })
            .catch(() => undefined);
      }
    },
  };
}

/** Docker's account of a container that is not running. */
function exitText(state: { Status?: string; ExitCode?: number; Error?: string }): string {
  const why = state.Error ? `: ${state.Error}` : "";
  return `the session's container ${state.Status ?? "stopped"} (exit code ${state.ExitCode ?? "unknown"})${why}`;
}
