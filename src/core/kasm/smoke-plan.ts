/**
 * Which smoke tests a run starts: a Workspace with smoke tests whose record points (or is switched by this
 * plan) at a digest that has no result yet, or failed under another manifest. Pure: a `smoke` action after
 * the switch and pulls it follows, and the results the plan relies on.
 */
import type { LocalImageIndex } from "../image/local.js";
import { parseImageReference } from "../image/reference.js";
import type { AgentManifest, WorkspaceManifest } from "../manifest/types.js";
import { selects } from "../plan/desired.js";
import type {
  Action,
  BlockedAction,
  KasmCreateAction,
  KasmUpdateAction,
  SmokeAction,
  SmokeResultView,
} from "../plan/types.js";
import { type SmokeState, smokeDue, smokeSettings } from "./smoke.js";
import { type KasmObservation, managedBy } from "./types.js";

export type SmokePlanInput = {
  workspaces: readonly WorkspaceManifest[];
  agents: readonly AgentManifest[];
  indexes: ReadonlyMap<string, LocalImageIndex>;
  /** The digest each tag has this cycle (the registry's, or a promotion's target). */
  expected: ReadonlyMap<string, string>;
  observed: KasmObservation;
  /** The plan's actions so far (pulls, promotions, `kasm-*`): `after` indexes point into it. */
  actions: readonly Action[];
  blocked: readonly BlockedAction[];
  state: SmokeState;
};

/**
 * The digest the record will launch: the pinned one, the registry's this cycle, else the one every serving
 * agent that answered holds. Undefined when none is known or the agents disagree (nothing is tested then).
 */
function digestOf(w: WorkspaceManifest, input: SmokePlanInput): string | undefined {
  const ref = parseImageReference(w.spec.image);
  if (ref.digest) return ref.digest;
  const expected = input.expected.get(ref.canonical);
  if (expected) return expected;
  const held = new Set<string>();
  for (const agent of input.agents) {
    const index = input.indexes.get(agent.metadata.name);
    if (agent.spec.enabled === false || !index || !selects(w, agent)) continue;
    const digests = index.digestsFor(ref);
    if (digests.length === 0) return undefined;
    for (const d of digests) held.add(d);
  }
  return held.size === 1 ? [...held][0] : undefined;
}

export function planSmokes(input: SmokePlanInput): { actions: SmokeAction[]; results: SmokeResultView[] } {
  const actions: SmokeAction[] = [];
  const results: SmokeResultView[] = [];
  if (!input.observed.reachable) return { actions, results };
  const { records } = input.observed;
  for (const w of input.workspaces) {
    const name = w.metadata.name;
    if (w.spec.enabled === false || !smokeSettings(w)) continue;
    const digest = digestOf(w, input);
    if (!digest) continue;
    const due = smokeDue(w, digest, input.state);
    if (!due.due) {
      const r = due.result;
      results.push({
        workspace: name,
        digest,
        result: r.result,
        message: r.message,
        finishedAt: r.finishedAt,
      });
      continue;
    }
    // A held switch is tested once it happens; no record yet, nothing to launch.
    if (input.blocked.some((b) => b.type.startsWith("kasm-") && "workspace" in b && b.workspace === name))
      continue;
    const canonical = parseImageReference(w.spec.image).canonical;
    const after: number[] = [];
    let write: KasmCreateAction | KasmUpdateAction | undefined;
    for (const [i, a] of input.actions.entries()) {
      if ((a.type === "kasm-create" || a.type === "kasm-update") && a.workspace === name) {
        after.push(i);
        write = a;
      } else if (a.type === "pull" && a.image === canonical && a.workspaces.includes(name)) after.push(i);
    }
    let imageId = write?.type === "kasm-update" ? write.imageId : undefined;
    if (!write) {
      const record = records.find((r) => managedBy(r.notes) === name);
      if (!record || record.name !== w.spec.image) continue;
      imageId = record.imageId;
    }
    actions.push({
      type: "smoke",
      workspace: name,
      digest,
      ...(imageId ? { imageId } : {}),
      reason: due.reason === "retry" ? "retry" : "untested",
      after,
    });
  }
  return { actions, results };
}
