/**
 * When a record may point users at another image (a create, or a change of `name`/`hash`): after the pulls
 * that put it on every agent that may launch it, and, with Kasm's agents in view, once their own reports list
 * it. Pure: the workspace, the plan's input and pulls in, the pulls to wait for or why the switch is held out.
 */

import { parseImageReference } from "../image/reference.js";
import type { WorkspaceManifest } from "../manifest/types.js";
import { selects } from "../plan/desired.js";
import type { KasmBlockedReason, PullAction } from "../plan/types.js";
import { type KasmServerReport, serverOf } from "./agents.js";
import type { KasmChange } from "./desired.js";
import { type LaunchContext, launchAgents } from "./launch.js";
import { pinnedHash } from "./pin.js";
import type { KasmPlanInput } from "./plan-input.js";
import { type AwaitReports, reportWait } from "./report-wait.js";
import { reportGate } from "./reports.js";

/** A switch goes ahead after the actions in `after` (and Kasm's reports), or is held with who and why. */
export type Gate =
  | { after: number[]; awaitReports?: AwaitReports }
  | { blocked: { agents: string[]; message: string }; reason?: KasmBlockedReason };

/** The fields whose change points users at another image: written only once the agents hold it. */
export const SWITCH_FIELDS: ReadonlySet<string> = new Set(["name", "hash"]);

/** The hash a pinned record carries, or why none is known (which holds its switch). */
export type Pin = ReturnType<typeof pinnedHash>;

/** One workspace's switch as the planner sees it, built once and asked for its create or update. */
export type SwitchCase = {
  w: WorkspaceManifest;
  input: KasmPlanInput;
  /** The plan's pulls by agent and image (`plannedPulls`). */
  pulls: ReadonlyMap<string, number>;
  ctx: LaunchContext | undefined;
  /** The Kasm agents that may launch the record once written (undefined when Kasm's agents are unknown). */
  launch: readonly KasmServerReport[] | undefined;
  pin: Pin | undefined;
  /** Whether Git wants the record enabled: a disabled record launches nothing, so it never waits. */
  enabled: boolean;
  /** The image as the record names it: what Kasm looks for among an agent's tags. */
  recordName: string;
};

const pullKey = (agent: string, image: string) => `${agent}\u0000${image}`;

/** The plan's pulls by agent and image, so each switch finds its pulls in constant time. */
export function plannedPulls(planned: readonly { type: string }[]): Map<string, number> {
  const pulls = new Map<string, number>();
  planned.forEach((a, i) => {
    if (a.type === "pull") pulls.set(pullKey((a as PullAction).agent, (a as PullAction).image), i);
  });
  return pulls;
}

/** The hash a pinned workspace's record carries, from its image, the registry, or what its agents hold. */
export function pinFor(w: WorkspaceManifest, input: KasmPlanInput): Pin {
  const serving = input.agents.filter((a) => a.spec.enabled !== false && selects(w, a));
  return pinnedHash(parseImageReference(w.spec.image), input.expected, serving, input.indexes);
}

/**
 * The gate of a create (`creating`) or an update's `changes`: at once unless it switches the image of an
 * enabled record Kasm pulls through kasm-gitops; a pin whose digest is unknown holds it; `--kasm-only` asks
 * Kasm's reports alone; otherwise the agents' images, then Kasm's reports of them (report-wait.ts).
 */
export function switchGate(s: SwitchCase, creating: boolean, changes: readonly KasmChange[]): Gate {
  const { w, input, ctx, pin } = s;
  const switching = creating || changes.some((c) => SWITCH_FIELDS.has(c.field));
  if (switching && pin && "unknown" in pin)
    return {
      blocked: {
        agents: [],
        message: `workspace "${w.metadata.name}" pins its digest (kasm.pinDigest), but there is ${pin.unknown}, so its record is not switched; users keep the current image`,
      },
      reason: "digest-unknown",
    };
  if (!switching || input.server.pulls !== "kasm-gitops" || !s.enabled) return { after: [] };
  if (input.reports) {
    const name = (r: KasmServerReport) =>
      input.agents.find((a) => serverOf(a, ctx?.servers ?? [])?.serverId === r.serverId)?.metadata.name ??
      r.hostname;
    const verdict = reportGate(
      w.metadata.name,
      w.spec.image,
      s.launch,
      ctx?.reports ?? [],
      input.reports,
      name,
    );
    return "ok" in verdict ? { after: [] } : verdict;
  }
  const pinnedDigest = pin && "digest" in pin ? pin.digest : undefined;
  const g = holdGate(
    w,
    input,
    s.pulls,
    s.launch && ctx ? { servers: s.launch, all: ctx.servers } : undefined,
    pinnedDigest,
  );
  // Kasm's agents in view: the switch also waits for their own reports of the image (report-wait.ts).
  if ("blocked" in g || !ctx) return g;
  // As Kasm checks: the record's name among the agent's tags, and its pinned digest (hash) when it has one.
  const wait = reportWait(s.recordName, s.launch, pinnedDigest);
  return wait ? { ...g, awaitReports: wait } : g;
}

/**
 * Zero-downtime switch (`pulls: kasm-gitops`): the record may point at the image once every enabled,
 * reachable agent the workspace selects holds it, after the pulls of it this plan makes there (linked by
 * `after`, also when an older digest of the tag is there: users get the digest the registry names).
 * A pinned record (`digest`) needs that very digest there. With no such agent the switch is held too: an
 * unknown state is never taken for a good one.
 */
function holdGate(
  w: WorkspaceManifest,
  input: KasmPlanInput,
  pulls: ReadonlyMap<string, number>,
  launch?: { servers: readonly KasmServerReport[]; all: readonly KasmServerReport[] },
  digest?: string,
): Gate {
  const ref = parseImageReference(w.spec.image);
  const serving = input.agents.filter((a) => a.spec.enabled !== false && selects(w, a));
  if (launch) {
    // Kasm launches on every agent of the record's zone (or its server) holding the image, selected or not.
    const kasm = launchAgents(launch.servers, input.agents, launch.all);
    if (kasm.strangers.length > 0)
      return {
        blocked: {
          agents: kasm.strangers,
          message: `Kasm may launch workspace "${w.metadata.name}" on ${kasm.strangers.join(", ")}, which no Agent in Git names (spec.kasm.server), so nothing is known to hold ${ref.canonical} there; users keep the current image`,
        },
        reason: "kasm-agent-not-in-git",
      };
    for (const agent of kasm.agents)
      if (agent.spec.enabled !== false && !serving.includes(agent)) serving.push(agent);
  }
  const reachable = serving.filter((a) => input.indexes.has(a.metadata.name));
  if (reachable.length === 0) {
    const names = serving.map((a) => a.metadata.name);
    return {
      blocked: {
        agents: names,
        message: `no enabled, reachable agent serves workspace "${w.metadata.name}", so none is known to hold ${ref.canonical}`,
      },
    };
  }
  const after: number[] = [];
  const missing: string[] = [];
  for (const agent of reachable) {
    const name = agent.metadata.name;
    // A pull of the image planned there (missing, or its tag moved to a new digest) comes first.
    const pull = pulls.get(pullKey(name, ref.canonical));
    if (pull !== undefined) {
      after.push(pull);
      continue;
    }
    const index = input.indexes.get(name)!;
    const holds = ref.digest ? index.digestsFor(ref).length > 0 : index.taggedImage(ref) !== undefined;
    if (!holds || (digest !== undefined && !index.digestsFor(ref).includes(digest))) missing.push(name);
  }
  if (missing.length > 0) {
    return {
      blocked: {
        agents: missing,
        message: `${digest ? `${ref.canonical} at ${digest}` : ref.canonical} is not on ${missing.join(", ")} and no pull of it is planned there (a workspace without a registry is never pulled); users keep the current image`,
      },
    };
  }
  return { after };
}
