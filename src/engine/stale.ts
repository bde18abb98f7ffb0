import { KasmGitopsError } from "../core/errors.js";
import { parseImageReference } from "../core/image-ref.js";
import type { Plan } from "../core/plan-types.js";
import type { Fleet, Snapshot } from "./reconcile.js";

/** What moved since a saved plan was made; empty when it can still be applied exactly. */
export async function staleReasons(
  plan: Plan,
  snapshot: Snapshot,
  fleet: Fleet,
  signal?: AbortSignal,
): Promise<string[]> {
  const reasons: string[] = [];
  if (plan.revision !== snapshot.revision.revision) {
    reasons.push(
      `${plan.branch} moved from ${plan.revision.slice(0, 12)} to ${snapshot.revision.revision.slice(0, 12)}`,
    );
  }
  const expected = new Map<string, string | undefined>();
  for (const action of plan.actions) {
    if (action.type === "promote") {
      expected.set(action.image, action.currentDigest);
      expected.set(action.source, action.targetDigest);
    } else if (action.targetDigest && !parseImageReference(action.image).digest) {
      // A pull of a tag a promotion in this plan moves is checked against the promotion instead.
      if (!plan.actions.some((a) => a.type === "promote" && a.image === action.image)) {
        expected.set(action.image, action.targetDigest);
      }
    }
  }
  for (const [image, digest] of expected) {
    const access = fleet.accessForImage(image);
    if (!access) continue;
    const ref = parseImageReference(image);
    if (ref.digest) continue;
    const now = await access.client.headDigest(ref, signal).then(
      (r) => r.digest,
      (error: unknown) => {
        if (error instanceof KasmGitopsError && error.code === "registry-not-found") return undefined;
        throw error;
      },
    );
    if (now !== digest)
      reasons.push(`${image} is now ${now ?? "absent"}, the plan expected ${digest ?? "absent"}`);
  }
  return reasons;
}

/** Reads a saved plan file's JSON, refusing anything that is not a version 1 plan. */
export function parsePlanFile(text: string, file: string): Plan {
  let plan: Plan;
  try {
    plan = JSON.parse(text) as Plan;
  } catch (error) {
    throw new KasmGitopsError("usage", `${file} is not JSON: ${(error as Error).message}`);
  }
  if (plan?.version !== 1 || !Array.isArray(plan.actions) || typeof plan.revision !== "string") {
    throw new KasmGitopsError("usage", `${file} is not a kasm-gitops plan (version 1)`);
  }
  return plan;
}
