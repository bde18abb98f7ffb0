/** How an automated update describes itself: a commit message a reviewer can read, and its trailer. */

import type { UpdateSpec } from "../manifest/types.js";
import { shortDigest } from "../plan/promotion.js";

/** The trailer every automated commit carries, so a reader (and the daemon) tells it from a person's change. */
export const AUTOMATION_TRAILER = "Kasm-Gitops-Automation";
export type AutomationKind = "update" | "promote";

/** Where an update goes in `mode: branch`: one branch per workspace and tag, for one merge request. */
export const updateBranch = (workspace: string, tag: string) => `kasm-gitops/update/${workspace}/${tag}`;

export type UpdateRecord = {
  workspace: string;
  previous: string;
  image: string;
  previousTag?: string;
  tag: string;
  previousDigest?: string;
  digest: string;
  policy: UpdateSpec;
};

const policyText = (p: UpdateSpec) =>
  [
    p.policy,
    p.range ? `range ${p.range}` : "",
    p.filter ? `filter ${p.filter.pattern}${p.filter.extract ? ` extract ${p.filter.extract}` : ""}` : "",
  ]
    .filter(Boolean)
    .join(", ");

/** Subject with both tags and the new digest; body with the images, digests and policy; the trailer last. */
export function updateCommitMessage(u: UpdateRecord): string {
  const from = u.previousTag ?? "(no tag)";
  const digests = `${u.previousDigest ? shortDigest(u.previousDigest) : "unknown"} -> ${shortDigest(u.digest)}`;
  return [
    `Update ${u.workspace} to ${u.tag} (${from} -> ${u.tag}, ${shortDigest(u.digest)})`,
    "",
    `Workspace: ${u.workspace}`,
    `Image: ${u.previous} -> ${u.image}`,
    `Tag: ${from} -> ${u.tag}`,
    `Digest: ${u.previousDigest ?? "unknown"} -> ${u.digest}`,
    `Policy: ${policyText(u.policy)}`,
    "",
    `The newest tag its update policy allows (${digests}). Written by kasm-gitops update.`,
    "",
    `${AUTOMATION_TRAILER}: update`,
  ].join("\n");
}

/** The automation kind a commit message's trailer names, or undefined for a person's commit. */
export function automationOf(message: string): AutomationKind | undefined {
  const paragraphs = message.trim().split(/\n\s*\n/);
  const last = paragraphs[paragraphs.length - 1] ?? "";
  const match = new RegExp(`^${AUTOMATION_TRAILER}:\\s*(update|promote)\\s*$`, "mi").exec(last);
  return match ? (match[1]!.toLowerCase() as AutomationKind) : undefined;
}
