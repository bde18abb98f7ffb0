import { performance } from "node:perf_hooks";
import { describeError } from "../core/errors.js";
import type { DebugLogger, DockerAgent } from "../ports.js";

/**
 * An agent whose calls each leave a debug line (call, reference, duration, outcome); pull options, which
 * carry registry credentials, are never logged.
 */
export function withCallLogs(agent: DockerAgent, logger: DebugLogger): DockerAgent {
  async function timed<T>(call: string, fields: object, run: () => Promise<T>, outcome: (r: T) => object) {
    const started = performance.now();
    const durationMs = () => Math.round(performance.now() - started);
    try {
      const result = await run();
      logger.debug(
        { agent: agent.name, call, ...fields, durationMs: durationMs(), ...outcome(result) },
        `agent ${call}`,
      );
      return result;
    } catch (error) {
      logger.debug(
        { agent: agent.name, call, ...fields, durationMs: durationMs(), error: describeError(error) },
        `agent ${call} failed`,
      );
      throw error;
    }
  }
  return {
    name: agent.name,
    listImages: (signal) =>
      timed(
        "listImages",
        {},
        () => agent.listImages(signal),
        (images) => ({ images: images.length }),
      ),
    listContainers: (signal) =>
      timed(
        "listContainers",
        {},
        () => agent.listContainers(signal),
        (containers) => ({ containers: containers.length }),
      ),
    removeImage: (image, signal) =>
      timed(
        "removeImage",
        { image },
        () => agent.removeImage(image, signal),
        (outcome) => ({ status: outcome.status }),
      ),
    imageBytes: (signal) =>
      timed(
        "imageBytes",
        {},
        () => agent.imageBytes(signal),
        (bytes) => ({ bytes }),
      ),
    pull: (reference, options) =>
      timed(
        "pull",
        // The same field names as the daemon's pull lines (agent, workspace, image).
        { image: reference, ...(options.workspaces ? { workspace: options.workspaces.join(",") } : {}) },
        () => agent.pull(reference, options),
        (r) => (r.digest ? { digest: r.digest } : {}),
      ),
  };
}
