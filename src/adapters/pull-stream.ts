/**
 * Reading Docker's pull progress stream (JSON lines): layer progress, the final digest, and what an error
 * event means, kept free of I/O so each rule is a unit-table row.
 */
import type { PullProgress } from "../ports.js";

/** One JSON object of `POST /images/create`'s body. */
export type PullEvent = {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string; code?: number };
};

export type PullFailureReason =
  | "aborted"
  | "unauthorized"
  | "not-found"
  | "rate-limited"
  | "unavailable"
  | "error";

const DONE = new Set(["Pull complete", "Already exists"]);
/** Statuses that are about a layer (the stream also has per-image lines whose `id` is the tag). */
const LAYER =
  /^(Pulling fs layer|Waiting|Downloading|Verifying Checksum|Download complete|Extracting|Pull complete|Already exists|Retrying)/;

type Layer = { done: boolean; current: number; total: number };

/** Folds layer events into a PullProgress; `update` returns true when the progress changed. */
export function createProgressTracker() {
  const layers = new Map<string, Layer>();
  const snapshot = (): PullProgress => {
    const progress = { layersDone: 0, layersTotal: layers.size, bytesDone: 0, bytesTotal: 0 };
    for (const layer of layers.values()) {
      if (layer.done) progress.layersDone++;
      progress.bytesDone += layer.current;
      progress.bytesTotal += layer.total;
    }
    return progress;
  };
  return {
    update(event: PullEvent): boolean {
      if (!event.id || !event.status || !LAYER.test(event.status)) return false;
      const layer = layers.get(event.id) ?? { done: false, current: 0, total: 0 };
      layers.set(event.id, layer);
      const detail = event.progressDetail ?? {};
      if (event.status === "Downloading" && typeof detail.current === "number") {
        layer.current = detail.current;
        if (typeof detail.total === "number" && detail.total > 0) layer.total = detail.total;
      }
      if (event.status === "Download complete" || DONE.has(event.status)) layer.current = layer.total;
      if (DONE.has(event.status)) layer.done = true;
      return true;
    },
    snapshot,
  };
}

/** The digest from the stream's `Digest: sha256:…` status line. */
export function digestFromEvent(event: PullEvent): string | undefined {
  return /^Digest: (\S+:[0-9a-f]+)$/.exec(event.status ?? "")?.[1];
}

/** The engine's message of an error event, or undefined for a normal event. */
export function errorMessage(event: PullEvent): string | undefined {
  if (!event.error && !event.errorDetail) return undefined;
  return event.errorDetail?.message || event.error || "the engine reported an error without a message";
}

/** What an engine's pull error means, and whether trying again later can help. */
export function classifyPullError(message: string): { reason: PullFailureReason; transient: boolean } {
  if (/^aborted\b/.test(message)) return { reason: "aborted", transient: false };
  if (/\b429\b|toomanyrequests|too many requests|rate limit/i.test(message)) {
    return { reason: "rate-limited", transient: true };
  }
  if (
    /unauthorized|authentication required|no basic auth credentials|denied|\b401\b|\b403\b/i.test(message)
  ) {
    return { reason: "unauthorized", transient: false };
  }
  if (/manifest unknown|not found|does not exist|\b404\b|name unknown/i.test(message)) {
    return { reason: "not-found", transient: false };
  }
  if (
    /\b5\d\d\b|timeout|timed out|connection reset|connection refused|unexpected EOF|service unavailable|bad gateway|temporar/i.test(
      message,
    )
  ) {
    return { reason: "unavailable", transient: true };
  }
  return { reason: "error", transient: false };
}

/** Splits a chunked JSON-lines body into events; keeps the partial tail for the next chunk. */
export function createLineParser(onEvent: (event: PullEvent) => void) {
  let buffer = "";
  const parse = (line: string) => {
    const text = line.trim();
    if (!text) return;
    try {
      onEvent(JSON.parse(text) as PullEvent);
    } catch {
      onEvent({ error: `unreadable line in the pull stream: ${text.slice(0, 200)}` });
    }
  };
  return {
    push(chunk: string) {
      buffer += chunk;
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) parse(line);
    },
    end() {
      parse(buffer);
      buffer = "";
    },
  };
}
