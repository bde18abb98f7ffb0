import { describeError } from "../core/errors.js";
import type { NotificationManifest } from "../core/manifest/types.js";
import { type NotificationEvent, notificationBody } from "../core/notification.js";
import type { Clock, NotificationSender } from "../ports.js";

export type { NotificationSender } from "../ports.js";

export type NotifierDeps = {
  send: NotificationSender;
  /** Reads a Notification's URL secret at the moment of sending (a rotated file takes effect). */
  resolveUrl: (target: NotificationManifest) => Promise<string>;
  clock: Clock;
  logger: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
  /** `sent`, `retried` (an attempt failed), `failed` (gave up), `dropped` (queue full). */
  count?: (target: string, type: string, result: "sent" | "retried" | "failed" | "dropped") => void;
  /** Bounded so a dead endpoint cannot grow memory: the oldest message is dropped first. */
  maxQueue?: number;
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Per attempt: a receiver that hangs costs at most this much, and only the notifier's own time. */
  timeoutMs?: number;
};

export type Notifier = {
  /** The Notifications of the revision in force. */
  configure(targets: readonly NotificationManifest[]): void;
  /** Queues the event for every target that asked for it; returns at once, never throws. */
  emit(event: NotificationEvent): void;
  /** Resolves when the queue is empty, or after `timeoutMs` (apply --notify waits this long at most). */
  drain(timeoutMs: number): Promise<void>;
  /** Stops sending; queued messages are dropped. */
  close(): void;
};

type Job = { target: NotificationManifest; event: NotificationEvent; key: string };

/** The URL is a secret (chat webhooks carry their token in it): never let an error message repeat it. */
const redact = (message: string, url?: string) => (url ? message.replaceAll(url, "[url]") : message);

/** Forgets the oldest keys past this: enough for months of revisions, bounded all the same. */
const MAX_KEYS = 10_000;

/**
 * Sends notifications in the background: one bounded queue per target, one message at a time,
 * retried with exponential backoff, at most one message per target, event kind and revision.
 * Nothing here is awaited by a cycle.
 */
export function createNotifier(deps: NotifierDeps): Notifier {
  const maxQueue = deps.maxQueue ?? 100;
  const attempts = deps.attempts ?? 5;
  const base = deps.baseDelayMs ?? 1000;
  const cap = deps.maxDelayMs ?? 30_000;
  const timeoutMs = deps.timeoutMs ?? 10_000;
  let targets: readonly NotificationManifest[] = [];
  /** One queue and worker per target: a hanging endpoint delays only its own messages. */
  const lanes = new Map<string, { queue: Job[]; worker?: Promise<void> }>();
  const seen = new Set<string>();
  const closing = new AbortController();
  const count = (job: Job, result: "sent" | "retried" | "failed" | "dropped") =>
    deps.count?.(job.target.metadata.name, job.target.spec.type, result);
  const log = (job: Job) => ({
    notification: job.target.metadata.name,
    event: job.event.event,
    revision: job.event.revision,
  });

  async function deliver(job: Job): Promise<void> {
    for (let attempt = 1; attempt <= attempts && !closing.signal.aborted; attempt++) {
      let url: string | undefined;
      try {
        url = await deps.resolveUrl(job.target);
        const signal = AbortSignal.any([closing.signal, AbortSignal.timeout(timeoutMs)]);
        await deps.send(url, notificationBody(job.target.spec.type, job.event), signal);
        count(job, "sent");
        deps.logger.info({ ...log(job), attempt }, "notification sent");
        return;
      } catch (error) {
        const last = attempt === attempts;
        count(job, last ? "failed" : "retried");
        deps.logger.warn(
          { ...log(job), attempt, err: redact(describeError(error), url) },
          last ? "notification failed; giving up" : "notification failed; will retry",
        );
        if (last) return;
        const delay = Math.min(cap, base * 2 ** (attempt - 1));
        await deps.clock.sleep(delay, closing.signal).catch(() => undefined);
      }
    }
  }

  async function work(lane: { queue: Job[]; worker?: Promise<void> }) {
    for (let job = lane.queue.shift(); job && !closing.signal.aborted; job = lane.queue.shift())
      await deliver(job);
    lane.worker = undefined;
  }

  return {
    configure(next) {
      targets = [...next];
    },
    emit(event) {
      for (const target of targets) {
        if (!target.spec.events.includes(event.event)) continue;
        const key = `${target.metadata.name}\u0000${event.event}\u0000${event.revision}`;
        if (seen.has(key)) continue;
        seen.add(key);
        if (seen.size > MAX_KEYS) seen.delete(seen.values().next().value!);
        const job = { target, event, key };
        let lane = lanes.get(target.metadata.name);
        if (!lane) {
          lane = { queue: [] };
          lanes.set(target.metadata.name, lane);
        }
        if (lane.queue.length >= maxQueue) {
          const dropped = lane.queue.shift()!;
          count(dropped, "dropped");
          deps.logger.warn(log(dropped), "notification queue full; the oldest message was dropped");
        }
        lane.queue.push(job);
        if (!lane.worker && !closing.signal.aborted) lane.worker = work(lane);
      }
    },
    async drain(ms) {
      const workers = [...lanes.values()].flatMap((l) => (l.worker ? [l.worker] : []));
      if (workers.length === 0) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(workers), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
      clearTimeout(timer);
    },
    close() {
      closing.abort();
      for (const lane of lanes.values()) lane.queue.length = 0;
    },
  };
}
