import { KasmGitopsError } from "../core/errors.js";
import { parseImageReference } from "../core/image/reference.js";
import { actionSubject } from "../core/plan/render.js";
import type { Action, Plan } from "../core/plan/types.js";
import type { Clock } from "../ports.js";
import type { Fleet } from "./fleet.js";
import { resolveDigests } from "./observe.js";
import type { Snapshot } from "./snapshot.js";

/** The digest each tag reference must still have for a saved plan to mean what it meant. */
function expectations(plan: Plan): Map<string, string | undefined> {
  const expected = new Map<string, string | undefined>();
  const promoted = new Set(plan.actions.filter((a) => a.type === "promote").map((a) => a.image));
  for (const action of plan.actions) {
    if (action.type === "promote") {
      expected.set(action.image, action.currentDigest);
      expected.set(action.source, action.targetDigest);
    } else if (action.type === "pull" && action.targetDigest && !promoted.has(action.image)) {
      // A pull of a tag a promotion in this plan moves is checked through that promotion instead.
      expected.set(action.image, action.targetDigest);
    }
  }
  for (const image of expected.keys()) if (parseImageReference(image).digest) expected.delete(image);
  return expected;
}

/** What moved since a saved plan was made; empty when it can still be applied exactly. */
export async function staleReasons(
  plan: Plan,
  snapshot: Snapshot,
  fleet: Fleet,
  clock: Clock,
  signal?: AbortSignal,
): Promise<string[]> {
  const reasons: string[] = [];
  if (plan.revision !== snapshot.revision.revision) {
    reasons.push(
      `${plan.branch} moved from ${plan.revision.slice(0, 12)} to ${snapshot.revision.revision.slice(0, 12)}`,
    );
  }
  const expected = expectations(plan);
  const queries = [...expected.keys()].map((image) => {
    const ref = parseImageReference(image);
    return { ref, registry: ref.registry };
  });
  const now = await resolveDigests(queries, (host) => fleet.accessForHost(host)?.client, {
    clock,
    ...(signal ? { signal } : {}),
  });
  for (const [image, digest] of expected) {
    const result = now.get(image);
    if (!result) continue;
    if ("error" in result && result.code !== "registry-not-found") {
      reasons.push(`${image} could not be checked: ${result.error}`);
      continue;
    }
    const current = "digest" in result ? result.digest : undefined;
    if (current !== digest)
      reasons.push(`${image} is now ${current ?? "absent"}, the plan expected ${digest ?? "absent"}`);
  }
  return reasons;
}

/** A Kasm action as Kasm must still make it: everything but `after`, whose indexes follow the pulls. */
function kasmKey(action: Action): string | undefined {
  if (!action.type.startsWith("kasm-")) return undefined;
  const { after: _, ...rest } = action as Action & { after?: number[] };
  return JSON.stringify(rest);
}

/**
 * What moved in Kasm since a saved plan was made, by comparing its Kasm actions with a plan made now: a
 * record edited, removed or added since (the saved changes would write over it, or miss it), or Kasm unread.
 */
export function kasmStaleReasons(saved: Plan, now: Plan): string[] {
  const unread = now.unknown.filter((u) => u.kind === "kasm");
  if (unread.length > 0 && (saved.kasm || now.kasm))
    return unread.map((u) => `Kasm ${u.name} could not be read to check the plan: ${u.message}`);
  const keys = (plan: Plan) => new Set(plan.actions.flatMap((a) => kasmKey(a) ?? []));
  const [before, after] = [keys(saved), keys(now)];
  const reasons: string[] = [];
  for (const a of saved.actions) {
    const key = kasmKey(a);
    if (key && !after.has(key))
      reasons.push(
        `Kasm changed since the plan: ${a.type} ${actionSubject(a)} was planned against records that differ now`,
      );
  }
  for (const a of now.actions) {
    const key = kasmKey(a);
    if (key && !before.has(key))
      reasons.push(
        `Kasm changed since the plan: ${a.type} ${actionSubject(a)} is needed now and not in the plan`,
      );
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
  // A plan saved before unknown causes were recorded had none to record.
  const unknown = Array.isArray(plan.unknown) ? plan.unknown : [];
  return {
    ...plan,
    unknown,
    summary: { ...plan.summary, unknown: unknown.length, incomplete: unknown.length > 0 },
  };
}
