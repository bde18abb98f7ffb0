/**
 * The updater's passes as the operator sees them beside the log (update-report.ts): the `automation` section of
 * `/status`, the update metrics, and an `update-proposed` or `promotion-proposed` notification for each
 * automated commit that reached the remote.
 */
import { versionOf } from "../../core/authoring/promote-target.js";
import { parseImageReference } from "../../core/image/reference.js";
import { type NotificationEvent, proposalEvent } from "../../core/notification.js";
import {
  type AutomationReport,
  checkResult,
  isCheckRefusal,
  type PromotionCheck,
  type ProposalReport,
  type UpdateCheck,
} from "../../core/status/automation-view.js";
import type { Clock, Metrics } from "../../ports.js";
import type { ImageCommitResult, WriteBackError } from "../authoring/image-commit.js";
import type { DaemonLogger } from "../cycle-log.js";
import type { DaemonStatus, StatusEvent } from "../status.js";
import type { AutoPromotionOutcome } from "./auto-promote.js";
import type { UpdateOutcome } from "./run-updates.js";
import { createPromotionReporter, createUpdateReporter } from "./update-report.js";
import type { UpdaterOptions } from "./updater.js";

export type AutomationPorts = {
  record(event: StatusEvent): void;
  /** The daemon's status: its fleet names each Workspace's image in Git, for a promotion's "from → to". */
  status(): DaemonStatus;
  metrics: Metrics;
  /** Sends to the Notifications of the revision in force. */
  notify(event: NotificationEvent): void;
  clock: Clock;
  /** The followed branch: a candidate pushed there is no longer waiting. */
  branch: string;
};

/** The tag of an image reference, when it parses and has one. */
function tagOf(image: string | undefined): string | undefined {
  if (!image) return undefined;
  try {
    return parseImageReference(image).tag;
  } catch {
    return undefined;
  }
}

/** What a write-back came to, as the proposal's fields; `branch` is where a push without its own went. */
function resultFields(
  result: ImageCommitResult | undefined,
  error: WriteBackError | undefined,
  branch: string,
): Pick<ProposalReport, "status" | "commit" | "branch" | "code" | "message"> | undefined {
  if (error) return { status: "error", code: error.code, message: error.message };
  if (!result) return undefined;
  switch (result.status) {
    case "pushed":
      return { status: result.status, commit: result.commit, branch: result.branch };
    case "branch-exists":
      return { status: result.status, branch: result.branch };
    case "unchanged":
      return { status: result.status, commit: result.tip, branch };
    case "refused":
      return { status: result.status, branch: result.branch, message: result.reason };
  }
}

const STRINGS = ["tag", "digest", "newest", "reason", "detail", "code", "error"] as const;
const NUMBERS = ["considered", "listed"] as const;

/**
 * One outcome as a check. Every status keeps whichever of `reason`, `detail`, `tag`, `digest`, `error` it
 * carries (`skipped`: why a person's word, a smoke test or `suspend` holds the candidate), so a status added
 * later shows without a change here.
 */
export function updateCheckOf(o: UpdateOutcome, branch: string): UpdateCheck {
  const f = o.finding;
  const fields = f as unknown as Record<string, unknown>;
  const inGitTag = tagOf(f.current);
  const check: UpdateCheck = {
    workspace: f.workspace,
    image: f.current,
    ...(inGitTag ? { inGitTag } : {}),
    status: f.status,
  };
  for (const key of STRINGS) if (typeof fields[key] === "string") check[key] = fields[key] as string;
  for (const key of NUMBERS) if (typeof fields[key] === "number") check[key] = fields[key] as number;
  const written = f.status === "candidate" ? resultFields(o.result, o.error, branch) : undefined;
  if (f.status === "candidate" && written)
    check.proposal = {
      image: f.image,
      tag: f.tag,
      digest: f.digest,
      previous: f.current,
      ...(f.previousTag ? { previousTag: f.previousTag } : {}),
      ...(f.previousDigest ? { previousDigest: f.previousDigest } : {}),
      ...written,
    };
  return check;
}

/** One auto-promotion outcome as a check, from the image Git has and the one it would be promoted to. */
export function promotionCheckOf(o: AutoPromotionOutcome, branch: string): PromotionCheck {
  const d = o.decision;
  const inGit = d.current;
  const previousTag = tagOf(inGit);
  const check: PromotionCheck = {
    workspace: d.workspace,
    from: d.from,
    status: d.status,
    ...(d.status === "waiting" ? { reason: d.reason } : {}),
    ...(d.digest ? { digest: d.digest } : {}),
    ...(inGit ? { image: inGit } : {}),
  };
  const written = d.status === "due" ? resultFields(o.result, o.error, branch) : undefined;
  if (d.status === "due" && written)
    check.proposal = {
      image: d.image,
      tag: versionOf(d.image),
      digest: d.digest,
      ...(inGit ? { previous: inGit } : {}),
      ...(previousTag ? { previousTag } : {}),
      ...written,
    };
  return check;
}

/** The result a proposal counts under: its status, or `blocked` when the promote command's checks refused it. */
const proposalResult = (p: ProposalReport) =>
  p.status === "error" && isCheckRefusal(p.code) ? "blocked" : p.status;

/** Turns the updater's passes into status events, metrics and notifications. */
export function createAutomationReporter(ports: AutomationPorts) {
  const { metrics } = ports;
  const publish = (report: AutomationReport) =>
    ports.record({ type: "automation", report, at: ports.clock.now() });
  const proposed = (
    kind: "update" | "promote",
    c: { workspace: string; proposal?: ProposalReport },
    from?: string,
  ) => {
    const p = c.proposal;
    if (!p) return;
    metrics.automationProposal(c.workspace, kind, proposalResult(p));
    if (p.status !== "pushed" || !p.commit || !p.branch) return;
    const { previous, previousTag, previousDigest } = p;
    ports.notify(
      proposalEvent({
        kind,
        workspace: c.workspace,
        ...(previous ? { previous } : {}),
        ...(previousTag ? { previousTag } : {}),
        ...(previousDigest ? { previousDigest } : {}),
        image: p.image,
        tag: p.tag,
        digest: p.digest,
        commit: p.commit,
        branch: p.branch,
        ...(from ? { from } : {}),
        at: ports.clock.now(),
      }),
    );
  };
  return {
    updates(outcomes: UpdateOutcome[] | { error: string }, schedule: string) {
      if (!Array.isArray(outcomes)) {
        metrics.updateChecked("error");
        return publish({ kind: "update", schedule, checks: outcomes });
      }
      const checks = outcomes.map((o) => updateCheckOf(o, ports.branch));
      for (const c of checks) {
        metrics.updateChecked(checkResult(c));
        const p = c.proposal;
        const landed =
          p && ((p.status === "pushed" && p.branch === ports.branch) || p.status === "unchanged");
        // A check that could not answer says nothing new of the candidate: the last one stands.
        if (checkResult(c) === "ok")
          metrics.setUpdateCandidate(c.workspace, c.status === "candidate" && !landed ? c.tag : undefined);
        proposed("update", c);
      }
      publish({ kind: "update", schedule, checks });
    },
    promotions(outcomes: AutoPromotionOutcome[] | { error: string }) {
      if (!Array.isArray(outcomes)) return publish({ kind: "promote", checks: outcomes });
      const checks = outcomes.map((o) => promotionCheckOf(o, ports.branch));
      // A fleet without promotion.auto says nothing after each cycle: the status stays the same object.
      if (checks.length === 0 && Object.keys(ports.status().automation?.promotions ?? {}).length === 0)
        return;
      for (const c of checks) proposed("promote", c, c.from);
      publish({ kind: "promote", checks });
    },
  };
}

/** The updater's two reporters for the daemon: each pass to the log, and to status, metrics and notifications. */
export function updaterReports(
  logger: DaemonLogger,
  ports: AutomationPorts,
): Required<Pick<UpdaterOptions, "report" | "reportPromotions">> {
  const logUpdates = createUpdateReporter(logger);
  const logPromotions = createPromotionReporter(logger);
  const shown = createAutomationReporter(ports);
  return {
    report: (outcomes, schedule) => {
      logUpdates(outcomes, schedule);
      shown.updates(outcomes, schedule);
    },
    reportPromotions: (outcomes) => {
      logPromotions(outcomes);
      shown.promotions(outcomes);
    },
  };
}
