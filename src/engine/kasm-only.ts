/**
 * `--kasm-only`: the Kasm syncer of a distributed deployment. It syncs Kasm's records and groups and opens no
 * Docker connection: which agent holds which image comes from Kasm's own agent reports (get_servers), and
 * the digest each switch waits for from one registry question per workspace tag. It pulls, promotes and
 * removes nothing: the pullers (`--agent`) do that on their own nodes.
 */
import { parseImageReference } from "../core/image/reference.js";
import { DEFAULT_REPORT_MAX_AGE_MS } from "../core/kasm/reports.js";
import { buildPlan } from "../core/plan/plan.js";
import type { PlannedCycle, PlanOptions, ReconcileDeps } from "./cycle.js";
import { connectFleet } from "./fleet.js";
import { kasmInput } from "./kasm-input.js";
import { type DigestQuery, resolveDigests } from "./observe.js";
import type { Snapshot } from "./snapshot.js";

/** The digests the switches wait for: each enabled workspace's tag, asked once (a pinned one needs no question). */
export function switchQueries(snapshot: Snapshot): DigestQuery[] {
  const unique = new Map<string, DigestQuery>();
  for (const w of snapshot.set.workspaces) {
    if (w.spec.enabled === false || !w.spec.registry) continue;
    const ref = parseImageReference(w.spec.image);
    if (!ref.digest) unique.set(ref.canonical, { ref, registry: w.spec.registry });
  }
  return [...unique.values()];
}

/** Plans Kasm alone, from Kasm's agent reports: no agent is connected, observed or written to. */
export async function planKasmOnly(
  snapshot: Snapshot,
  deps: ReconcileDeps,
  options: Pick<PlanOptions, "signal" | "reportMaxAgeMs">,
): Promise<PlannedCycle> {
  const fleet = await connectFleet(snapshot.set, deps, undefined, { agents: false });
  const [kasm, digests] = await Promise.all([
    kasmInput(fleet, deps, options.signal, { agents: true }),
    resolveDigests(switchQueries(snapshot), (name) => fleet.registries.get(name)?.client, {
      clock: deps.clock,
      ...(deps.retry ? { retry: deps.retry } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(deps.registryTimeoutMs ? { deadlineMs: deps.registryTimeoutMs } : {}),
    }),
  ]);
  const desired = { agents: [], warnings: [] };
  const plan = buildPlan({
    revision: snapshot.revision.revision,
    branch: snapshot.revision.branch,
    set: snapshot.set,
    desired,
    observations: [],
    // Without a KasmServer nothing is synced, and nothing else is this reconciler's to plan.
    digests: kasm ? digests : new Map(),
    ...(kasm
      ? {
          kasm: {
            ...kasm,
            reports: { digests, maxAgeMs: options.reportMaxAgeMs ?? DEFAULT_REPORT_MAX_AGE_MS },
          },
        }
      : {}),
  });
  if (!kasm)
    plan.warnings.push({
      code: "kasm-not-synced",
      message: "--kasm-only without a KasmServer in the revision: there is nothing to sync",
    });
  return { plan, desired, observations: [], fleet, ...(kasm ? { kasm: kasm.observed } : {}) };
}
