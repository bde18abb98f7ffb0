/**
 * Image automation as `/status` shows it (docs/automation.md): per Workspace with an update policy, the image
 * in Git, the candidate, the last check and the last proposal; per Workspace with `promotion.auto`, why it
 * waits or what it last proposed. Pure: the engine turns the updater's outcomes into reports, this keeps them.
 */
import { parseImageReference } from "../image/reference.js";
import type { FeedEntry } from "./status-view.js";

/** An automated commit: what it writes and what became of it. */
export type ProposalView = {
  kind: "update" | "promote";
  /** The image it writes, with its tag (or digest) and digest. */
  image: string;
  tag: string;
  digest: string;
  /** The image in Git before it, when known. */
  previous?: string;
  previousTag?: string;
  previousDigest?: string;
  /** pushed, branch-exists, unchanged, refused (twice, by the remote), or error (not written: `code`, `message`). */
  status: string;
  commit?: string;
  branch?: string;
  code?: string;
  message?: string;
  at: string;
};

/** A proposal as the engine reports it, before the reducer stamps it. */
export type ProposalReport = Omit<ProposalView, "kind" | "at">;

/**
 * One Workspace's update check. `status` is the finding's (`candidate`, `skipped` with its `reason` and
 * `detail`, `up-to-date`, `no-match`, `error`, or one this view does not know, shown with its `reason`).
 */
export type UpdateCheck = {
  workspace: string;
  /** The image in Git, and its tag. */
  image: string;
  inGitTag?: string;
  status: string;
  /** A newer tag the policy allows (status `candidate`), or the one a status of its own names (`skipped`). */
  tag?: string;
  digest?: string;
  /** `up-to-date`: the newest tag the policy allows (Git has it, or a newer one). */
  newest?: string;
  reason?: string;
  /** `skipped`: why, in a sentence (which commit a person undid, which smoke test failed). */
  detail?: string;
  code?: string;
  error?: string;
  /** Tags the policy took part in ordering, and tags the repository listed, when the check said. */
  considered?: number;
  listed?: number;
  proposal?: ProposalReport;
};

export type UpdateView = Omit<UpdateCheck, "workspace" | "proposal"> & {
  /** When the last check ended, and whether it answered. */
  checkedAt: string;
  result: "ok" | "error";
  schedule: string;
  /** The last proposal, kept across checks that propose nothing. */
  lastProposal?: ProposalView;
};

/** One Workspace's auto-promotion decision: `due` (then `proposal` says what became of it) or `waiting` and why. */
export type PromotionCheck = {
  workspace: string;
  from: string;
  status: string;
  reason?: string;
  /** The smoke-tested digest of `from` it is about. */
  digest?: string;
  /** The image in Git. */
  image?: string;
  proposal?: ProposalReport;
};

export type AutoPromotionView = Omit<PromotionCheck, "workspace" | "proposal"> & {
  checkedAt: string;
  lastProposal?: ProposalView;
};

export type AutomationView = {
  updates: Record<string, UpdateView>;
  promotions: Record<string, AutoPromotionView>;
  /** The last pass that failed as a whole (no Workspace was checked). */
  lastError?: { at: string; kind: "update" | "promote"; message: string };
};

/** What one pass of the updater reported: each Workspace's check, or why the pass failed as a whole. */
export type AutomationReport =
  | { kind: "update"; schedule: string; checks: UpdateCheck[] | { error: string } }
  | { kind: "promote"; checks: PromotionCheck[] | { error: string } };

export const EMPTY_AUTOMATION: AutomationView = { updates: {}, promotions: {} };

/** Whether a check answered: an `error` status or message says it did not. */
export const checkResult = (c: UpdateCheck): "ok" | "error" =>
  c.status === "error" || c.error !== undefined ? "error" : "ok";

const stamp = (kind: ProposalView["kind"], p: ProposalReport | undefined, at: string) =>
  p ? { ...p, kind, at } : undefined;

/** Applies one pass; returns a new view. A promotion pass covers every such Workspace, so it replaces the list. */
export function reduceAutomation(
  view: AutomationView | undefined,
  report: AutomationReport,
  at: string,
): AutomationView {
  const before = view ?? EMPTY_AUTOMATION;
  if (!Array.isArray(report.checks))
    return { ...before, lastError: { at, kind: report.kind, message: report.checks.error } };
  if (report.kind === "update") {
    const updates = { ...before.updates };
    for (const { workspace, proposal, ...check } of report.checks) {
      const lastProposal = stamp("update", proposal, at) ?? before.updates[workspace]?.lastProposal;
      updates[workspace] = {
        ...check,
        checkedAt: at,
        result: checkResult({ workspace, ...check }),
        schedule: report.schedule,
        ...(lastProposal ? { lastProposal } : {}),
      };
    }
    return { ...before, updates };
  }
  const promotions: Record<string, AutoPromotionView> = {};
  for (const { workspace, proposal, ...check } of report.checks) {
    const lastProposal = stamp("promote", proposal, at) ?? before.promotions[workspace]?.lastProposal;
    promotions[workspace] = { ...check, checkedAt: at, ...(lastProposal ? { lastProposal } : {}) };
  }
  return { ...before, promotions };
}

/** The canonical form of a reference, or the text itself when it does not parse. */
function canonical(image: string): string {
  try {
    return parseImageReference(image).canonical;
  } catch {
    return image;
  }
}

/**
 * Keeps "in Git" true between checks: each Workspace's image as the revision in force has it (a cycle's plan),
 * so a pushed update shows in Git as soon as it is reconciled. Returns the same view when nothing moved.
 */
export function followGit(view: AutomationView, workspaces: readonly { name: string; image: string }[]) {
  const inGit = new Map(workspaces.map((w) => [w.name, w.image]));
  const moved = (name: string, image: string | undefined) => {
    const now = inGit.get(name);
    return now !== undefined && (image === undefined || canonical(image) !== now) ? now : undefined;
  };
  let changed = false;
  const updates = { ...view.updates };
  for (const [name, u] of Object.entries(view.updates)) {
    const image = moved(name, u.image);
    if (image === undefined) continue;
    const { inGitTag: _, ...rest } = u;
    const tag = parseImageReference(image).tag;
    updates[name] = { ...rest, image, ...(tag ? { inGitTag: tag } : {}) };
    changed = true;
  }
  const promotions = { ...view.promotions };
  for (const [name, p] of Object.entries(view.promotions)) {
    const image = moved(name, p.image);
    if (image === undefined) continue;
    promotions[name] = { ...p, image };
    changed = true;
  }
  return changed ? { ...view, updates, promotions } : view;
}

/** What a proposal says in one line: `update pushed: chrome-testing 20261201 → 20261206 on main (4f1c0e9a2b7d)`. */
export function proposalSentence(workspace: string, p: ProposalReport & Pick<ProposalView, "kind">) {
  const noun = p.kind === "update" ? "update" : "promotion";
  const move = `${workspace} ${p.previousTag ?? p.previous ?? "?"} → ${p.tag}`;
  switch (p.status) {
    case "pushed":
      return `${noun} pushed: ${move} on ${p.branch} (${p.commit?.slice(0, 12)})`;
    case "branch-exists":
      return `${noun} branch ${p.branch} is already pushed: ${move}`;
    case "unchanged":
      return `${noun} already on the branch tip: ${move}`;
    case "refused":
      return `${noun} push refused twice (${p.branch}): ${move}: ${p.message ?? ""}`;
    default:
      return `${noun} not written: ${move}: ${p.message ?? p.status}`;
  }
}

/**
 * The feed lines a pass adds: pushed proposals, refused or failed ones (a promotion the promote checks
 * refused is a warning: it waits), failed checks, and a pass that failed as a whole.
 */
export function automationFeed(report: AutomationReport, at: string): FeedEntry[] {
  const noun = report.kind === "update" ? "update check" : "auto-promotion";
  if (!Array.isArray(report.checks))
    return [{ at, level: "error", message: `${noun} failed: ${report.checks.error}` }];
  const lines: FeedEntry[] = [];
  for (const c of report.checks) {
    if ("error" in c && c.error !== undefined)
      lines.push({ at, level: "warn", message: `update check of ${c.workspace} failed: ${c.error}` });
    const p = c.proposal;
    if (!p || p.status === "branch-exists" || p.status === "unchanged") continue;
    const message = proposalSentence(c.workspace, { ...p, kind: report.kind });
    const blocked = report.kind === "promote" && p.status === "error" && isCheckRefusal(p.code);
    const level = p.status === "pushed" ? "info" : blocked ? "warn" : "error";
    lines.push({ at, level, message });
  }
  return lines;
}

/** The promote command's own checks refused it (its digest is not verified, or its smoke test is not a pass). */
export const isCheckRefusal = (code: string | undefined) =>
  code !== undefined && (code === "not-verified" || code.startsWith("smoke-"));
