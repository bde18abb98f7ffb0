/**
 * A simulated `POST /images/create`: resolves the reference, downloads the manifest and every blob from
 * the registry for real (each blob GET after a delay, its body read at an optional rate, its digest
 * checked), and reports it as dockerd 20.10's JSON progress lines. The image is then recorded in the store.
 */
import { createHash } from "node:crypto";
import type { ImageReference } from "../core/image/reference.js";
import { createSlots } from "../engine/executor.js";
import { familiar, type SimImage, type SimImageStore, ZERO_TIME } from "./sim-images.js";
import { type RegistryAuthConfig, RegistrySession, SimPullError } from "./sim-registry.js";

export type PullTiming = {
  /** Wait before each blob GET, like a slow registry or a long way to it. */
  blobDelayMs: number;
  /** Read blob bodies no faster than this; unlimited when absent. */
  bytesPerSecond?: number;
};

/** One JSON line of the pull stream. */
export type PullLine = {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  progress?: string;
  error?: string;
  errorDetail?: { message: string };
};

type Descriptor = {
  mediaType?: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string };
};
type Manifest = { mediaType?: string; manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] };

const INDEX_TYPES = new Set([
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
]);
/** dockerd reports download progress at most this often per layer. */
const PROGRESS_EVERY_MS = 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sha256 = (data: string | Buffer) => `sha256:${createHash("sha256").update(data).digest("hex")}`;

/** dockerd's short layer id: the first 12 hex digits of the blob digest. */
export const layerId = (digest: string) => digest.replace(/^[a-z0-9]+:/, "").slice(0, 12);

/** Docker's chain ids: the first layer's diff id, then sha256 of "parent child" for each next layer. */
export function chainIds(diffIds: readonly string[]): string[] {
  const chain: string[] = [];
  for (const diff of diffIds) chain.push(chain.length === 0 ? diff : sha256(`${chain.at(-1)} ${diff}`));
  return chain;
}

/** The `progress` text dockerd puts beside the numbers: a 50-column bar and the sizes. */
export function progressBar(current: number, total: number): string {
  const width = 50;
  const filled = total > 0 ? Math.min(width, Math.floor((current / total) * width)) : 0;
  const bar = filled >= width ? "=".repeat(width) : `${"=".repeat(filled)}>${" ".repeat(width - filled - 1)}`;
  return `[${bar}] ${units(current)}/${units(total)}`;
}

function units(bytes: number): string {
  if (bytes < 1000) return `${bytes}B`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(1)}kB`;
  return `${(bytes / 1_000_000).toFixed(1)}MB`;
}

/** The platform dockerd picks from an index on this simulated linux/amd64 engine. */
export function pickPlatform(index: Manifest): Descriptor | undefined {
  return index.manifests?.find((m) => m.platform?.os === "linux" && m.platform.architecture === "amd64");
}

/** dockerd's max-concurrent-downloads: layer downloads in flight across all of an engine's pulls. */
export const createDownloadSlots = (limit = 3) => createSlots(limit);

export type PullContext = {
  store: SimImageStore;
  timing: PullTiming;
  slots: ReturnType<typeof createDownloadSlots>;
};

/**
 * Everything a pull does before the engine answers 200: authentication and the manifest HEAD. Fails with
 * a SimPullError carrying dockerd's status; the returned function streams the rest.
 */
export async function startPull(
  ref: ImageReference,
  auth: RegistryAuthConfig | undefined,
  context: PullContext,
): Promise<(emit: (line: PullLine) => void) => Promise<void>> {
  const session = new RegistrySession(ref, auth);
  await session.authenticate();
  const reference = ref.digest ?? ref.tag ?? "latest";
  const digest = await session.resolve(reference);
  const shown = ref.digest ? familiar(ref, "digest") : familiar(ref, "tag");
  return async (emit) => {
    emit({
      status: `Pulling from ${ref.registry === "docker.io" ? ref.repository.replace(/^library\//, "") : ref.repository}`,
      id: reference,
    });
    const before = context.store.find(shown);
    if (context.store.hasDigest(ref, digest)) {
      const held = context.store
        .all()
        .find((i) => i.repoDigests.includes(familiar({ ...ref, digest }, "digest")))!;
      context.store.add({ ...held, ref, manifestDigest: digest });
      emit({ status: `Digest: ${digest}` });
      const fresh = before?.id === held.id;
      emit({ status: `Status: ${fresh ? "Image is up to date" : "Downloaded newer image"} for ${shown}` });
      return;
    }
    try {
      const image = await download(session, digest, context, emit);
      context.store.add({ ...image, ref, manifestDigest: digest });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      emit({ errorDetail: { message }, error: message });
      return;
    }
    emit({ status: `Digest: ${digest}` });
    emit({ status: `Status: Downloaded newer image for ${shown}` });
  };
}

/** Manifest (through an index when there is one), then config and layers in parallel, then extraction. */
async function download(
  session: RegistrySession,
  digest: string,
  context: PullContext,
  emit: (line: PullLine) => void,
): Promise<Omit<SimImage, "repoTags" | "repoDigests">> {
  let { body, mediaType } = await session.manifest(digest);
  let manifest = JSON.parse(body.toString("utf8")) as Manifest;
  if (INDEX_TYPES.has(manifest.mediaType ?? mediaType)) {
    const chosen = pickPlatform(manifest);
    if (!chosen)
      throw new SimPullError(500, "no matching manifest for linux/amd64 in the manifest list entries");
    ({ body, mediaType } = await session.manifest(chosen.digest));
    manifest = JSON.parse(body.toString("utf8")) as Manifest;
  }
  const layers = manifest.layers ?? [];
  if (!manifest.config) throw new SimPullError(500, `manifest ${digest} has no config`);
  const held = layers.map((l) => context.store.hasBlob(l.digest));
  for (const [i, layer] of layers.entries()) {
    const status = held[i] ? "Already exists" : "Pulling fs layer";
    emit({ status, progressDetail: {}, id: layerId(layer.digest) });
  }
  const [config] = await Promise.all([
    fetchBlob(session, manifest.config, context.timing),
    ...layers.map((layer, i) =>
      held[i]
        ? undefined
        : context.slots(() =>
            fetchBlob(session, layer, context.timing, (line) => emit({ ...line, id: layerId(layer.digest) })),
          ),
    ),
  ]);
  layers.forEach((layer, i) => {
    if (held[i]) return;
    const id = layerId(layer.digest);
    emit({
      status: "Extracting",
      progressDetail: { current: layer.size, total: layer.size },
      progress: progressBar(layer.size, layer.size),
      id,
    });
    emit({ status: "Pull complete", progressDetail: {}, id });
  });
  const parsed = JSON.parse(config!.toString("utf8")) as {
    created?: string;
    config?: { Labels?: Record<string, string> | null };
    rootfs?: { diff_ids?: string[] };
  };
  const created = parsed.created ? Math.floor(Date.parse(parsed.created) / 1000) : ZERO_TIME;
  return {
    id: manifest.config.digest,
    size: layers.reduce((sum, l) => sum + l.size, 0),
    layers: chainIds(parsed.rootfs?.diff_ids ?? []),
    blobs: layers.map((l) => l.digest),
    labels: parsed.config?.Labels ?? {},
    created: Number.isFinite(created) ? created : ZERO_TIME,
  };
}

/** One blob: the delay, the GET, the body at the simulated rate with progress lines, and its digest checked. */
async function fetchBlob(
  session: RegistrySession,
  blob: Descriptor,
  timing: PullTiming,
  emit?: (line: PullLine) => void,
): Promise<Buffer> {
  if (timing.blobDelayMs > 0) await sleep(timing.blobDelayMs);
  const answer = await session.blob(blob.digest);
  const chunks: Buffer[] = [];
  const hash = createHash("sha256");
  const started = Date.now();
  let current = 0;
  let reported = started;
  for await (const chunk of answer.body) {
    const value = chunk as Buffer;
    chunks.push(value);
    hash.update(value);
    current += value.length;
    if (timing.bytesPerSecond) {
      const due = started + (current / timing.bytesPerSecond) * 1000 - Date.now();
      if (due > 0) await sleep(due);
    }
    if (emit && Date.now() - reported >= PROGRESS_EVERY_MS) {
      reported = Date.now();
      emit({
        status: "Downloading",
        progressDetail: { current, total: blob.size },
        progress: progressBar(current, blob.size),
      });
    }
  }
  if (`sha256:${hash.digest("hex")}` !== blob.digest)
    throw new SimPullError(500, `filesystem layer verification failed for digest ${blob.digest}`);
  if (emit && reported !== started) emit({ status: "Verifying Checksum", progressDetail: {} });
  emit?.({ status: "Download complete", progressDetail: {} });
  return Buffer.concat(chunks);
}
