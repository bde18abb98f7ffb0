import { parseImageReference } from "../image/reference.js";
import { compareText, type ManifestSet } from "../manifest/types.js";
import type { AgentObservation } from "./plan.js";
import type { DigestResult } from "./promotion.js";
import type { Plan, UnknownCause, UnknownKind } from "./types.js";

/** One cause per unreachable agent: nothing there could be compared. */
export function agentUnknowns(observations: readonly AgentObservation[]): UnknownCause[] {
  return observations
    .filter((o): o is Extract<AgentObservation, { reachable: false }> => !o.reachable)
    .map((o) => ({ kind: "agent", name: o.agent, reason: "agent-unreachable", message: o.error }));
}

/**
 * One cause per reference the registry could not answer (401, 403, 404, 5xx, network), named after
 * its Registry manifest. `skip` holds moving tags a promotion creates: their 404 is expected.
 */
export function registryUnknowns(
  digests: ReadonlyMap<string, DigestResult>,
  set: Pick<ManifestSet, "registries">,
  skip: ReadonlySet<string>,
): UnknownCause[] {
  const causes: UnknownCause[] = [];
  for (const [image, result] of [...digests].sort(([a], [b]) => compareText(a, b))) {
    if (!("error" in result) || skip.has(image)) continue;
    const host = parseImageReference(image).registry;
    const name = set.registries.find((r) => r.spec.host === host)?.metadata.name ?? host;
    causes.push({ kind: "registry", name, reason: result.code, message: result.error, image });
  }
  return causes;
}

/** Adds causes found outside the planner (Kasm unreachable, …) and recounts the summary. */
export function withUnknown(plan: Plan, causes: readonly UnknownCause[]): Plan {
  const unknown = [...plan.unknown, ...causes];
  return {
    ...plan,
    unknown,
    summary: { ...plan.summary, unknown: unknown.length, incomplete: unknown.length > 0 },
  };
}

const NOUNS: Record<UnknownKind, [string, string]> = {
  registry: ["registry check failed", "registry checks failed"],
  agent: ["agent unreachable", "agents unreachable"],
  kasm: ["Kasm check failed", "Kasm checks failed"],
};

/** `1 registry check failed (corp: registry-unauthorized), 1 agent unreachable (a2)`: what to fix, grouped. */
export function describeUnknown(causes: readonly UnknownCause[]): string {
  const parts: string[] = [];
  // An agent that answered but could not be fully read (its containers) is not "unreachable".
  const unreachable = (c: UnknownCause) => c.kind !== "agent" || c.reason === "agent-unreachable";
  const partly = causes.filter((c) => !unreachable(c));
  for (const kind of Object.keys(NOUNS) as UnknownKind[]) {
    const of = causes.filter((c) => c.kind === kind && unreachable(c));
    if (of.length === 0) continue;
    const names = [...new Set(of.map((c) => (kind === "agent" ? c.name : `${c.name}: ${c.reason}`)))];
    parts.push(`${of.length} ${NOUNS[kind][of.length === 1 ? 0 : 1]} (${names.join(", ")})`);
  }
  if (partly.length > 0) {
    const names = [...new Set(partly.map((c) => `${c.name}: ${c.reason}`))];
    parts.push(`${partly.length} agent check${partly.length === 1 ? "" : "s"} failed (${names.join(", ")})`);
  }
  return parts.join(", ");
}
