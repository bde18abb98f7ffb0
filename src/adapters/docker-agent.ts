/**
 * A Kasm agent's Docker Engine through dockerode: list images and containers, pull following the stream to
 * its end, remove images (never forced) and read the disk usage of its images.
 */
import type { IncomingMessage } from "node:http";
import Docker from "dockerode";
import { describeError, KasmGitopsError } from "../core/errors.js";
import { type LocalImage, toLocalImage } from "../core/image/local.js";
import { parseImageReference } from "../core/image/reference.js";
import type { ContainerSummary, Credentials, DockerAgent, PullProgress, RemoveOutcome } from "../ports.js";
import { type DockerTls, dockerConnection } from "./docker-host.js";
import {
  classifyPullError,
  createLineParser,
  createProgressTracker,
  digestFromEvent,
  errorMessage,
} from "./pull-stream.js";

export type DockerAgentOptions = {
  name: string;
  /** `unix:///var/run/docker.sock` or `tcp://host:port`. */
  host: string;
  /** PEM contents, already resolved from the Agent manifest's secret references. */
  tls?: DockerTls;
  /** Limit for short calls (ping, list, inspect); default 10 s. */
  timeoutMs?: number;
  /** A pull fails after this long without any event from the engine; default 5 min. */
  pullIdleTimeoutMs?: number;
};

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_PULL_IDLE_MS = 5 * 60_000;
/** Errors that mean the engine itself could not be reached, as opposed to a refusal it sent. */
const CONNECTION_CODES = new Set([
  "ENOENT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EACCES",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
]);

type ModemError = Error & { code?: string; statusCode?: number; json?: { message?: string } | null };

/** The engine's own words for an HTTP error, without dockerode's `(HTTP code N) reason - ` prefix. */
const engineMessage = (error: ModemError) =>
  (error.json?.message ?? error.message).replace(/^\(HTTP code \d+\) [^-]*- /, "").trim();

/** The `X-Registry-Auth` config: Docker Hub's credentials are keyed by its legacy index URL. */
function authConfig(registry: string, auth: Credentials) {
  const serveraddress = registry === "docker.io" ? "https://index.docker.io/v1/" : registry;
  return { username: auth.username, password: auth.password, serveraddress };
}

export function createDockerAgent(options: DockerAgentOptions): DockerAgent {
  const { name, host } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const idleMs = options.pullIdleTimeoutMs ?? DEFAULT_PULL_IDLE_MS;
  const docker = new Docker(dockerConnection(host, options.tls));

  const unreachable = (error: unknown, detail?: string) =>
    new KasmGitopsError(
      "agent-unreachable",
      `agent ${name}: Docker Engine at ${host} ${detail ?? `is unreachable: ${(error as Error).message}`}`,
      { agent: name, host },
      { cause: error },
    );

  /** Runs a short call under `timeoutMs` and the caller's signal; connection failures become agent-unreachable. */
  async function shortCall<T>(
    what: string,
    signal: AbortSignal | undefined,
    call: (s: AbortSignal) => Promise<T>,
  ) {
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      return await call(combined);
    } catch (error) {
      if (signal?.aborted) throw signal.reason ?? error;
      if (timeout.aborted) throw unreachable(error, `did not answer ${what} within ${timeoutMs} ms`);
      const e = error as ModemError;
      if (e.statusCode === undefined || CONNECTION_CODES.has(e.code ?? "")) throw unreachable(error);
      throw unreachable(error, `failed ${what}: ${engineMessage(e)}`);
    }
  }

  async function listImages(signal?: AbortSignal): Promise<LocalImage[]> {
    const summaries = await shortCall("the image list", signal, (abortSignal) =>
      docker.listImages({ abortSignal } as Docker.ListImagesOptions),
    );
    return summaries.map(toLocalImage);
  }

  async function listContainers(signal?: AbortSignal): Promise<ContainerSummary[]> {
    const containers = await shortCall("the container list", signal, (abortSignal) =>
      docker.listContainers({ all: true, abortSignal } as Docker.ContainerListOptions),
    );
    return containers.map((c) => ({ id: c.Id, imageId: c.ImageID, state: c.State }));
  }

  async function removeImage(image: string, signal?: AbortSignal): Promise<RemoveOutcome> {
    try {
      const report = (await shortCall("an image removal", signal, (abortSignal) =>
        docker.getImage(image).remove({ force: false, noprune: false, abortSignal }),
      )) as { Untagged?: string; Deleted?: string }[];
      const count = (key: "Untagged" | "Deleted") => report.filter((r) => r[key] !== undefined).length;
      return { status: "removed", untagged: count("Untagged"), deleted: count("Deleted") };
    } catch (error) {
      const status = ((error as KasmGitopsError).cause as ModemError | undefined)?.statusCode;
      const message = engineMessage(((error as KasmGitopsError).cause ?? error) as ModemError);
      if (status === 409) return { status: /being used by/i.test(message) ? "in-use" : "refused", message };
      if (status === 404) return { status: "gone" };
      throw error;
    }
  }

  async function imageBytes(signal?: AbortSignal): Promise<number> {
    // `type=image` spares engines that know it (API 1.42+) from sizing containers and volumes.
    const usage = await shortCall(
      "its disk usage",
      signal,
      (abortSignal) =>
        new Promise<{ LayersSize?: number }>((resolve, reject) =>
          docker.modem.dial(
            {
              path: "/system/df?",
              method: "GET",
              options: { type: ["image"] },
              abortSignal,
              statusCodes: { 200: true, 500: "server error" },
            } as Parameters<typeof docker.modem.dial>[0],
            (error, data) => (error ? reject(error) : resolve(data as { LayersSize?: number })),
          ),
        ),
    );
    return usage.LayersSize ?? 0;
  }

  /** The repo digest of a pulled tag, from the engine, when the stream did not carry one. */
  async function inspectDigest(canonical: string, repository: string): Promise<string | undefined> {
    const info = await shortCall("an image inspect", undefined, () => docker.getImage(canonical).inspect());
    const prefix = `${repository}@`;
    return (info.RepoDigests ?? [])
      .map((entry) => {
        try {
          const ref = parseImageReference(entry);
          return `${ref.registry}/${ref.repository}@` === prefix ? ref.digest : undefined;
        } catch {
          return undefined;
        }
      })
      .find((digest) => digest !== undefined);
  }

  async function pull(
    reference: string,
    pullOptions: { auth?: Credentials; signal?: AbortSignal; onProgress?: (progress: PullProgress) => void },
  ): Promise<{ digest?: string }> {
    const ref = parseImageReference(reference);
    const { signal, onProgress } = pullOptions;
    const failed = (message: string, cause?: unknown, extra: Record<string, unknown> = {}) => {
      const { reason, transient } = classifyPullError(message);
      return new KasmGitopsError(
        "pull-failed",
        `pull of ${ref.canonical} on agent ${name} failed (${reason}): ${message}`,
        { agent: name, image: ref.canonical, reason, transient, ...extra },
        { cause },
      );
    };
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    let idle: NodeJS.Timeout | undefined;
    const touch = () => {
      clearTimeout(idle);
      idle = setTimeout(() => controller.abort(new Error("idle")), idleMs);
    };
    try {
      // A quick ping first, so an engine that is down fails within timeoutMs instead of the idle timeout.
      // (@types/dockerode omits ping's options; dockerode passes abortSignal through.)
      const pingable = docker as unknown as { ping(options: { abortSignal: AbortSignal }): Promise<unknown> };
      await shortCall("a ping", signal, (abortSignal) => pingable.ping({ abortSignal }));
      touch();
      let stream: IncomingMessage;
      try {
        stream = (await docker.createImage({
          fromImage: `${ref.registry}/${ref.repository}`,
          tag: ref.digest ?? ref.tag ?? "latest",
          abortSignal: controller.signal,
          ...(pullOptions.auth ? { authconfig: authConfig(ref.registry, pullOptions.auth) } : {}),
        })) as IncomingMessage;
      } catch (error) {
        const e = error as ModemError;
        if (e.statusCode !== undefined) throw failed(engineMessage(e), error, { status: e.statusCode });
        throw error;
      }
      const digest = await followStream(stream, controller.signal, touch, onProgress, failed);
      return {
        digest:
          ref.digest ?? digest ?? (await inspectDigest(ref.canonical, `${ref.registry}/${ref.repository}`)),
      };
    } catch (error) {
      if (signal?.aborted) throw failed(`aborted: ${describeError(signal.reason)}`, error, { aborted: true });
      if (error instanceof KasmGitopsError) throw error;
      if (controller.signal.aborted)
        throw failed(`no progress from the engine for ${idleMs} ms (timeout)`, error);
      throw unreachable(error);
    } finally {
      clearTimeout(idle);
      signal?.removeEventListener("abort", onAbort);
    }
  }

  return { name, listImages, listContainers, removeImage, imageBytes, pull };
}

/** Reads the pull stream to its end; rejects on an error event or when `signal` aborts. */
function followStream(
  stream: IncomingMessage,
  signal: AbortSignal,
  touch: () => void,
  onProgress: ((progress: PullProgress) => void) | undefined,
  failed: (message: string) => KasmGitopsError,
): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const tracker = createProgressTracker();
    let digest: string | undefined;
    let failure: KasmGitopsError | undefined;
    const parser = createLineParser((event) => {
      // One chunk can hold many events: none is reported once the pull is aborted.
      if (signal.aborted) return;
      const message = errorMessage(event);
      if (message !== undefined) failure ??= failed(message);
      digest = digestFromEvent(event) ?? digest;
      if (tracker.update(event)) onProgress?.(tracker.snapshot());
    });
    const abort = () => stream.destroy(new Error("aborted"));
    if (signal.aborted) abort();
    signal.addEventListener("abort", abort, { once: true });
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      touch();
      parser.push(chunk);
    });
    stream.on("error", (error) => {
      signal.removeEventListener("abort", abort);
      reject(error);
    });
    stream.on("end", () => {
      signal.removeEventListener("abort", abort);
      parser.end();
      if (failure) reject(failure);
      else resolve(digest);
    });
  });
}
