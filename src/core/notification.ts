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

/** The short form of a digest in a message: `sha256:` and 12 hex digits. */
const shortDigest = (digest: string) => digest.slice(0, 19);

/**
 * The event an automated commit that reached the remote emits (`update-proposed`, `promotion-proposed`): its
 * revision is the pushed commit, so it goes out once however often the status is reported.
 */
export function proposalEvent(p: {
  kind: "update" | "promote";
  workspace: string;
  /** The image in Git before, and its tag and digest when known. */
  previous?: string;
  previousTag?: string;
  previousDigest?: string;
  image: string;
  tag: string;
  digest: string;
  commit: string;
  branch: string;
  /** A promotion: the Workspace whose smoke test passed the digest. */
  from?: string;
  at: Date;
}): NotificationEvent {
  const digests = p.previousDigest
    ? `${shortDigest(p.previousDigest)} → ${shortDigest(p.digest)}`
    : shortDigest(p.digest);
  const tested = p.from ? `, smoke-tested on ${p.from}` : "";
  const { at: _, kind: __, ...details } = p;
  return {
    event: p.kind === "update" ? "update-proposed" : "promotion-proposed",
    revision: p.commit,
    branch: p.branch,
    time: p.at.toISOString(),
    message: `${p.workspace} ${p.previousTag ?? p.previous ?? "?"} → ${p.tag} (${digests}${tested}): commit ${p.commit.slice(0, 12)} on ${p.branch}`,
    details,
  };
}
