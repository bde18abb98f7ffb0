/**
 * The zero-downtime switch decided from Kasm's own agent reports (`--kasm-only`, the syncer with no Docker
 * access): a record may point at an image once every Kasm agent that may launch it reports, recently enough,
 * the image's tag and the digest Git wants. Pure: reports, the wanted digest and the bound in, a verdict out.
 */

import { parseImageReference } from "../image/reference.js";
import { compareText } from "../manifest/types.js";
import type { DigestResult } from "../plan/promotion.js";
import type { KasmBlockedReason } from "../plan/types.js";
import type { KasmServerReport, ReportedImages } from "./agents.js";

/** How old an agent's report may be before what it says is unknown: Kasm agents report every few seconds. */
export const DEFAULT_REPORT_MAX_AGE_MS = 5 * 60_000;

/** What the syncer knows beside Kasm: the registry's digest of each tag, and the bound on a report's age. */
export type ReportInput = { digests: ReadonlyMap<string, DigestResult>; maxAgeMs: number };

/** One Kasm agent's report, read for one image at one digest. */
export type ReportState = "holds" | "stale" | "missing" | "lacks-tag" | "lacks-digest";

/**
 * Whether a report says the agent holds `image` at `digest` (undefined: the tag alone, as Kasm compares a
 * record without a hash); anything it cannot prove is not "holds".
 */
export function reportState(
  report: ReportedImages | undefined,
  image: string,
  digest: string | undefined,
  maxAgeMs: number,
): ReportState {
  if (!report || report.reportAgeMs === null) return "missing";
  if (report.reportAgeMs > maxAgeMs) return "stale";
  const ref = parseImageReference(image);
  // Kasm launches where an agent's reported tags hold the record's name as written (no normalising).
  if (!ref.digest && !report.reportedTags.has(image)) return "lacks-tag";
  const wanted = digest ?? ref.digest;
  if (wanted === undefined) return "holds";
  return report.digests.has(`${ref.registry}/${ref.repository}@${wanted}`) ? "holds" : "lacks-digest";
}

/** The digest Git wants for a workspace's image: pinned in the reference, else the registry's answer now. */
export function wantedDigest(
  image: string,
  digests: ReadonlyMap<string, DigestResult>,
): { digest: string } | { error: string } {
  const ref = parseImageReference(image);
  if (ref.digest) return { digest: ref.digest };
  const answer = digests.get(ref.canonical);
  if (!answer) return { error: `the registry was not asked for ${ref.canonical}` };
  return "digest" in answer ? answer : { error: answer.error };
}

export type ReportGate =
  | { ok: true }
  | { blocked: { agents: string[]; message: string }; reason: KasmBlockedReason };

/**
 * Every Kasm agent that may launch the record must report the image at the wanted digest. A report older
 * than the bound, or none, holds the switch (`kasm-report-stale`); a fresh report without the image or the
 * digest holds it as `image-not-on-agents`; a digest the registry did not give holds it as
 * `kasm-digest-unknown`. `name` says an agent the way the plan names it (its Agent, else its hostname).
 */
export function reportGate(
  workspace: string,
  image: string,
  launch: readonly KasmServerReport[] | undefined,
  reports: readonly ReportedImages[],
  input: ReportInput,
  name: (server: KasmServerReport) => string,
): ReportGate {
  const canonical = parseImageReference(image).canonical;
  if (!launch)
    return {
      blocked: {
        agents: [],
        message: `Kasm's agents could not be read, so nothing is known to hold ${canonical}; users keep the current image`,
      },
      reason: "kasm-report-stale",
    };
  if (launch.length === 0)
    return {
      blocked: {
        agents: [],
        message: `no running, enabled Kasm agent may launch workspace "${workspace}", so none is known to hold ${canonical}`,
      },
      reason: "image-not-on-agents",
    };
  const wanted = wantedDigest(image, input.digests);
  if ("error" in wanted)
    return {
      blocked: {
        agents: [],
        message: `the digest of ${canonical} is unknown (${wanted.error}), so no agent's report can show it; users keep the current image`,
      },
      reason: "kasm-digest-unknown",
    };
  const by = new Map<ReportState, string[]>();
  for (const server of launch) {
    const state = reportState(
      reports.find((r) => r.serverId === server.serverId),
      image,
      wanted.digest,
      input.maxAgeMs,
    );
    if (state !== "holds") by.set(state, [...(by.get(state) ?? []), name(server)]);
  }
  if (by.size === 0) return { ok: true };
  const list = (state: ReportState) => (by.get(state) ?? []).sort(compareText);
  const unknown = [...list("stale"), ...list("missing")];
  const seconds = Math.round(input.maxAgeMs / 1000);
  if (unknown.length > 0)
    return {
      blocked: {
        agents: unknown,
        message: `Kasm has no report newer than ${seconds}s from ${unknown.join(", ")}, so nothing is known to hold ${canonical}@${wanted.digest} there; users keep the current image`,
      },
      reason: "kasm-report-stale",
    };
  const lacking = [...list("lacks-tag"), ...list("lacks-digest")].sort(compareText);
  return {
    blocked: {
      agents: lacking,
      message: `Kasm's agents ${lacking.join(", ")} do not report ${canonical} at ${wanted.digest} yet (their pullers have not pulled it); users keep the current image`,
    },
    reason: "image-not-on-agents",
  };
}
