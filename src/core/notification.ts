import type { NotificationEventKind, NotificationManifest } from "./manifest/types.js";

export type { NotificationEventKind } from "./manifest/types.js";

/** Something worth telling people about, as data; each Notification type renders it its own way. */
export type NotificationEvent = {
  event: NotificationEventKind;
  /** The revision it is about: with `event`, the key that makes a message go out at most once. */
  revision: string;
  branch: string;
  time: string;
  /** One human sentence: what happened and, when something is wrong, what to look at. */
  message: string;
  details?: Record<string, unknown>;
};

/** What is POSTed: the JSON event (webhook), Slack's incoming-webhook `{text}`, Discord's `{content}`. */
export function notificationBody(
  type: NotificationManifest["spec"]["type"],
  event: NotificationEvent,
): unknown {
  const text = `kasm-gitops ${event.event} on ${event.branch}@${event.revision.slice(0, 12)}: ${event.message}`;
  if (type === "slack") return { text };
  // Discord refuses content over 2000 characters.
  if (type === "discord") return { content: text.length > 2000 ? `${text.slice(0, 1997)}...` : text };
  return { source: "kasm-gitops", ...event };
}

/** The event a drift repair emits (the Kasm sync detects drift; the daemon's notifier sends it). */
export function driftEvent(p: {
  revision: string;
  branch: string;
  at: Date;
  message: string;
  details?: Record<string, unknown>;
}): NotificationEvent {
  return {
    event: "drift",
    revision: p.revision,
    branch: p.branch,
    time: p.at.toISOString(),
    message: p.message,
    ...(p.details ? { details: p.details } : {}),
  };
}
