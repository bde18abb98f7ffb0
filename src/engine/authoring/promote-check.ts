/** The `promote` authoring helper's checks against the real fleet: digest, verification and the edited files. */

import { setWorkspaceImage } from "../../core/authoring/edit-image.js";
import type { PromotionTarget } from "../../core/authoring/promote-target.js";
import { KasmGitopsError } from "../../core/errors.js";
import { indexLocalImages, type LocalImageIndex } from "../../core/image/local.js";
import { parseImageReference } from "../../core/image/reference.js";
import { resultKey } from "../../core/kasm/smoke.js";
import type { ManifestFile } from "../../core/manifest/load.js";
import type { ManifestSet } from "../../core/manifest/types.js";
import { selects } from "../../core/plan/desired.js";
import { notVerifiedMessage, smokeBlock, verifiedOn } from "../../core/plan/promotion.js";
import type { ReconcileDeps } from "../cycle.js";
import { observeAgents, resolveDigests } from "../observe.js";
import { acceptManifests } from "../snapshot.js";

export type PromoteDeps = Pick<
  ReconcileDeps,
  "agentFor" | "registryFor" | "ledger" | "clock" | "retry" | "smoke"
>;

export type Verification = {
  digest: string;
  /** `agent NAME` or `ledger (pulled on NAME)`. */
  verifiedOn: string;
  /** Agents serving `promotion.from` that could not be asked (verification then relied on the others). */
  warnings: string[];
};

/** The digest the new image stands for: its pinned digest, else one HEAD at the workspace's Registry. */
async function digestOf(set: ManifestSet, target: PromotionTarget, deps: PromoteDeps, signal?: AbortSignal) {
  const ref = parseImageReference(target.image);
  if (ref.digest) return ref.digest;
  const registry =
    set.registries.find((r) => r.metadata.name === target.workspace.spec.registry) ??
    set.registries.find((r) => r.spec.host === ref.registry);
  if (!registry) {
    throw new KasmGitopsError(
      "usage",
      `no Registry manifest serves ${ref.registry}: promote needs one to read the digest of ${ref.canonical}`,
    );
  }
  const access = await deps.registryFor(registry);
  const results = await resolveDigests([{ ref, registry: registry.metadata.name }], () => access.client, {
    clock: deps.clock,
    ...(deps.retry ? { retry: deps.retry } : {}),
    ...(signal ? { signal } : {}),
  });
  const result = results.get(ref.canonical)!;
  if ("error" in result) {
    throw new KasmGitopsError(
      result.code as KasmGitopsError["code"],
      `cannot read the digest of ${ref.canonical}: ${result.error.replace(`${ref.canonical}: `, "")}`,
      {
        image: ref.canonical,
      },
    );
  }
  return result.digest;
}

/**
 * Checks the new image with the planner's rule (docs/plan-format.md, Promotion): its digest is on an enabled agent serving
 * `promotion.from`, or in the ledger for it, and, when that workspace has smoke tests, a passed one of the
 * digest. Throws `not-verified`, `smoke-missing` or `smoke-failed` with the planner's wording otherwise.
 */
export async function verifyPromotion(
  set: ManifestSet,
  target: PromotionTarget,
  deps: PromoteDeps,
  options: {
    onlyAgents?: readonly string[];
    signal?: AbortSignal;
    /**
     * `--kasm-only`: the syncer opens no Docker connection and keeps no ledger; a passed smoke session of the
     * digest in Kasm is the proof it reached the testing ring, since the syncer switched that record only once
     * Kasm's agent reports showed the digest on every agent that may launch it.
     */
    kasmOnly?: boolean;
  } = {},
): Promise<Verification> {
  const digest = await digestOf(set, target, deps, options.signal);
  if (options.kasmOnly) return verifyFromKasm(target, digest, deps);
  const serving = set.agents.filter(
    (a) =>
      a.spec.enabled !== false &&
      selects(target.from, a) &&
      (!options.onlyAgents?.length || options.onlyAgents.includes(a.metadata.name)),
  );
  const observed = await observeAgents(
    await Promise.all(serving.map((a) => deps.agentFor(a))),
    options.signal,
  );
  const agents = new Map<string, LocalImageIndex>();
  const warnings: string[] = [];
  for (const o of observed) {
    if (o.reachable) agents.set(o.agent, indexLocalImages(o.images));
    else warnings.push(`agent "${o.agent}" is unreachable, so it was not checked: ${o.error}`);
  }
  const ledger = await deps.ledger.entries();
  const where = verifiedOn({ set, agents, ledger }, target.from, parseImageReference(target.image), digest);
  if (!where) {
    const name = target.workspace.metadata.name;
    throw new KasmGitopsError(
      "not-verified",
      `cannot promote workspace "${name}" to ${target.image}: ${notVerifiedMessage(target.from.metadata.name, digest)}`,
      { workspace: name, image: target.image, digest, warnings },
    );
  }
  // The smoke gate, as the planner has it: a testing workspace with smoke tests needs a pass of this digest.
  const smoke = smokeBlock(target.from, digest, await deps.smoke?.read());
  if (smoke) {
    const name = target.workspace.metadata.name;
    throw new KasmGitopsError(
      smoke.reason,
      `cannot promote workspace "${name}" to ${target.image}: ${smoke.message}`,
      {
        workspace: name,
        image: target.image,
        digest,
      },
    );
  }
  return { digest, verifiedOn: where, warnings };
}

/** The syncer's verification: a passed smoke session of `digest` on `promotion.from`, as Kasm ran it. */
async function verifyFromKasm(
  target: PromotionTarget,
  digest: string,
  deps: PromoteDeps,
): Promise<Verification> {
  const name = target.workspace.metadata.name;
  const from = target.from.metadata.name;
  const smoke = await deps.smoke?.read();
  const block = smokeBlock(target.from, digest, smoke);
  const result = smoke?.results[resultKey(from, digest)];
  const passed = result?.result === "pass" ? result : undefined;
  if (block || !passed) {
    // Without a pass the syncer has no proof the digest reached the ring: not-verified, or the gate's reason.
    const code = block?.reason === "smoke-failed" ? block.reason : "not-verified";
    const why = block?.message ?? `workspace "${from}" has no passed smoke test of ${digest}`;
    throw new KasmGitopsError(
      code,
      `cannot promote workspace "${name}" to ${target.image}: ${why} (the Kasm syncer, with no Docker access, verifies a promotion by a passed smoke session in Kasm)`,
      { workspace: name, image: target.image, digest },
    );
  }
  const agent = passed?.serverHostname ?? passed?.server;
  const server = agent ? `Kasm agent ${agent}` : "a Kasm agent";
  return { digest, verifiedOn: `${server} (a passed smoke session of ${from} in Kasm)`, warnings: [] };
}

/**
 * The workspace's file with only its image changed, after checking that the whole edited set still
 * validates: an invalid repo is never written, let alone committed.
 */
export function editPromotion(
  files: readonly ManifestFile[],
  target: Pick<PromotionTarget, "workspace" | "image">,
  where: string,
): ManifestFile {
  const original = files.find((f) => f.file === target.workspace.source.file);
  if (!original)
    throw new KasmGitopsError("internal", `manifest file ${target.workspace.source.file} was not read`);
  const edited = {
    file: original.file,
    text: setWorkspaceImage(original.text, target.workspace.metadata.name, target.image),
  };
  acceptManifests(
    files.map((f) => (f === original ? edited : f)),
    `${where} after the edit`,
  );
  return edited;
}
