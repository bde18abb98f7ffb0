/**
 * One cycle of reconciliation, the same for `plan`, `apply`, `run` and the bench: load the revision (or take
 * the one given), observe agents, registries and Kasm, plan, and carry the plan out. `runCycle` is the entry;
 * its parts are exported for callers that time or narrow one step (the bench).
 */
import { KasmGitopsError } from "../core/errors.js";
import type { KasmObservation } from "../core/kasm/types.js";
import type { ManifestFile } from "../core/manifest/load.js";
import type { SecretPolicy } from "../core/manifest/secret-policy.js";
import type { AgentManifest, KasmServerManifest, RegistryManifest } from "../core/manifest/types.js";
import { planDecisions } from "../core/plan/decisions.js";
import { type DesiredState, desiredState, type RefreshScope, refsToCheck } from "../core/plan/desired.js";
import { nextDepartures, rebuildEntries } from "../core/plan/ledger-history.js";
import { type AgentObservation, buildPlan } from "../core/plan/plan.js";
import { promotionRefs } from "../core/plan/promotion.js";
import { pruningAgents } from "../core/plan/prune.js";
import type { KasmAction, Plan } from "../core/plan/types.js";
import type { RetryPolicy } from "../core/retry.js";
import type {
  Clock,
  DebugLogger,
  DockerAgent,
  GitSource,
  KasmApi,
  KasmWrittenStore,
  Ledger,
  LedgerState,
  RevisionVerifier,
  SmokeStore,
} from "../ports.js";
import { type ActionResult, type ExecutorDeps, executePlan, type RegistryAccess } from "./executor.js";
import { connectFleet, type Fleet } from "./fleet.js";
import { fingerprinter, kasmInput } from "./kasm-input.js";
import { planKasmOnly } from "./kasm-only.js";
import { afterWrites, registryInfo } from "./kasm-sync.js";
import { observeAgents, resolveDigests } from "./observe.js";
import { smokeExecution } from "./smoke-actions.js";
import { loadSnapshot, type Snapshot } from "./snapshot.js";
import { kasmStaleReasons, staleReasons } from "./stale.js";

export type { Fleet } from "./fleet.js";
export type { Snapshot } from "./snapshot.js";

/** The ports a cycle needs (plan, apply, run and the bench alike), injected from src/app.ts. */
export type ReconcileDeps = {
  git: GitSource;
  /** With --verify-commits: a revision is used only when its tip commit is signed by a trusted key. */
  verifier?: RevisionVerifier;
  /** Files under `dir`; only those resolving inside `root` (the checkout) are read. */
  readManifests: (dir: string, root: string) => Promise<ManifestFile[]>;
  agentFor: (manifest: AgentManifest) => Promise<DockerAgent>;
  registryFor: (manifest: RegistryManifest) => Promise<RegistryAccess>;
  ledger: Ledger;
  clock: Clock;
  retry?: RetryPolicy;
  /** The Kasm API of a KasmServer manifest (its secrets resolved); absent: records are not synced. */
  kasmFor?: (manifest: KasmServerManifest) => Promise<KasmApi>;
  /** What was last written to Kasm (state dir). */
  kasmWritten?: KasmWrittenStore;
  /** Smoke results and the smoke sessions not yet seen destroyed (state dir). */
  smoke?: SmokeStore;
  /** References this policy refuses make a revision invalid, before any secret is read. */
  secrets?: SecretPolicy;
  /** Where the planner's decisions go at debug level. */
  debugLog?: DebugLogger;
  /** The deadline for one whole registry refresh (`--registry-timeout`). */
  registryTimeoutMs?: number;
  /** How long a switch waits for Kasm's agents to report its image (`--kasm-report-wait`). */
  kasmReportWaitMs?: number;
};

/** `false`: no digest checks (interval cycles, --no-refresh); else which tags to re-check. */
export type PlanOptions = {
  refresh: false | RefreshScope;
  onlyAgents?: string[];
  signal?: AbortSignal;
  /** Read each agent's image disk usage too (the daemon's status and metrics). */
  diskUsage?: boolean;
  /** Canonical references to check even when `refresh` leaves them out: the daemon's failed checks. */
  recheck?: ReadonlySet<string>;
  /** apply and run: record in the ledger what this plan learned (a rebuild from agents, departed workspaces). */
  record?: boolean;
  /** `--kasm-only`: sync Kasm alone, from its agent reports; no Docker connection (engine/kasm-only.ts). */
  kasmOnly?: boolean;
  /** With `kasmOnly`: how old an agent's report may be before it is unknown (default 5 minutes). */
  reportMaxAgeMs?: number;
};
export type PlannedCycle = {
  plan: Plan;
  desired: DesiredState;
  observations: AgentObservation[];
  fleet: Fleet;
  /** What Kasm held when the plan was made (absent without a KasmServer). */
  kasm?: KasmObservation;
};

/** Observes agents and registries for a snapshot and returns the plan: the same code for plan, apply and run. */
export async function planSnapshot(
  snapshot: Snapshot,
  deps: ReconcileDeps,
  options: PlanOptions,
): Promise<PlannedCycle> {
  if (options.kasmOnly) return planKasmOnly(snapshot, deps, options);
  const fleet = await connectFleet(snapshot.set, deps, options.onlyAgents);
  const desired = desiredState(snapshot.set, options.onlyAgents);
  // With --agent (one reconciler per node), only those agents are observed; promotion verification
  // then also relies on the ledger.
  const enabled = desired.agents.filter((a) => a.enabled).map((a) => fleet.agents.get(a.agent)!);
  // The ledger is read while the agents answer, so parsing it never runs back to back with buildPlan:
  // at 200 agents each is tens of ms of synchronous work, and together they stalled the event loop.
  const [observed, kasm, ledger, smoke] = await Promise.all([
    observeAgents(enabled, options.signal, {
      containersOf: pruningAgents(snapshot.set),
      ...(options.diskUsage ? { diskUsage: true } : {}),
    }),
    // A reconciler limited to some agents cannot know whether every agent holds an image.
    options.onlyAgents?.length ? undefined : kasmInput(fleet, deps, options.signal),
    deps.ledger.read(),
    // Smoke results gate promotions and say which digests a run tests; a damaged file fails the cycle.
    deps.smoke?.read(),
  ]);
  const now = deps.clock.now();
  // Promotion refs are checked on every refresh: a moving tag moved by hand is pointed back at the tested digest.
  const queries = options.refresh
    ? [...refsToCheck(desired, options.refresh), ...promotionRefs(snapshot.set)]
    : [];
  // A check that failed is asked again on the next cycle, so an unknown state clears as soon as it can.
  const recheck = options.recheck;
  if (recheck?.size) {
    const all = [...refsToCheck(desired, "all"), ...promotionRefs(snapshot.set)];
    queries.push(...all.filter((q) => recheck.has(q.ref.canonical)));
  }
  const digests = await resolveDigests(queries, (name) => fleet.registries.get(name)?.client, {
    clock: deps.clock,
    ...(deps.retry ? { retry: deps.retry } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(deps.registryTimeoutMs ? { deadlineMs: deps.registryTimeoutMs } : {}),
  });
  const plan = buildPlan({
    revision: snapshot.revision.revision,
    branch: snapshot.revision.branch,
    set: snapshot.set,
    desired,
    observations: observed,
    digests,
    ledger: ledger.entries,
    prune: { now, covered: new Set(Object.keys(ledger.covered)), departed: ledger.departed },
    ...(kasm ? { kasm } : {}),
    ...(smoke ? { smoke } : {}),
  });
  if (options.record) await recordHistory(snapshot, observed, ledger, now, deps.ledger);
  deps.debugLog?.debug(
    {
      revision: plan.revision,
      refresh: options.refresh === false ? "none" : "tags",
      digests: queries.length,
      ...planDecisions(plan),
    },
    "plan decisions",
  );
  if (fleet.kasm && !kasm) {
    plan.warnings.push({
      code: "kasm-not-synced",
      message: `Kasm records are not synced by a reconciler limited with --agent (a puller): run one --kasm-only syncer (or one reconciler without --agent) for ${fleet.kasm.config.url}`,
    });
  }
  return { plan, desired, observations: observed, fleet, ...(kasm ? { kasm: kasm.observed } : {}) };
}

/**
 * What a cycle teaches the ledger, written before its actions run: the agents it does not cover yet are
 * rebuilt from the images they hold (their removals were held by this plan), and the workspaces that left
 * Git keep the time they were first seen absent, so removedAfter counts from then.
 */
async function recordHistory(
  snapshot: Snapshot,
  observed: readonly AgentObservation[],
  state: LedgerState,
  now: Date,
  ledger: Ledger,
): Promise<void> {
  const revision = snapshot.revision.revision;
  const covered = new Set(Object.keys(state.covered));
  const rebuilt = rebuildEntries(snapshot.set, observed, covered, now, revision);
  const departed = nextDepartures(state.entries, snapshot.set, state.departed, now, revision);
  const moved = JSON.stringify(departed) !== JSON.stringify(state.departed);
  if (rebuilt.agents.length === 0 && !moved) return;
  await ledger.update({ rebuilt: rebuilt.entries, covered: rebuilt.agents, departed });
}

/**
 * `apply PLANFILE`: what a plan made with `record` writes, from a fresh look at the agents' images, so a
 * plan-then-apply workflow rebuilds the ledger and dates removed workspaces too.
 */
export async function recordFromAgents(
  snapshot: Snapshot,
  fleet: Fleet,
  deps: ReconcileDeps,
  signal?: AbortSignal,
): Promise<void> {
  const enabled = new Set(
    snapshot.set.agents.filter((a) => a.spec.enabled !== false).map((a) => a.metadata.name),
  );
  const [observed, state] = await Promise.all([
    observeAgents(
      [...fleet.agents.values()].filter((a) => enabled.has(a.name)),
      signal,
    ),
    deps.ledger.read(),
  ]);
  await recordHistory(snapshot, observed, state, deps.clock.now(), deps.ledger);
}

/**
 * Carries out a plan on the fleet it was made for: the same wiring for apply and the daemon. What was
 * written to Kasm is remembered afterwards (Git's field hashes, token fingerprints, the groups Git names).
 */
export async function executeOnFleet(
  plan: Plan,
  fleet: Fleet,
  deps: ReconcileDeps,
  extra: Pick<ExecutorDeps, "signal" | "drain" | "onEvent">,
): Promise<ActionResult[]> {
  const credentialsFor = (name: string) => fleet.registries.get(name)?.credentials;
  const api = fleet.kasm?.api;
  const results = await executePlan(plan, {
    agents: fleet.agents,
    limits: fleet.limits,
    registryFor: fleet.accessForImage,
    ledger: deps.ledger,
    clock: deps.clock,
    revision: plan.revision,
    ...(deps.retry ? { retry: deps.retry } : {}),
    ...(api
      ? {
          kasm: {
            api,
            credentialsFor,
            ...(deps.kasmReportWaitMs ? { reportWaitMs: deps.kasmReportWaitMs } : {}),
          },
        }
      : {}),
    ...(api && deps.smoke
      ? { smoke: smokeExecution({ api, store: deps.smoke, clock: deps.clock, set: fleet.set }) }
      : {}),
    ...extra,
  });
  const kasm = fleet.kasm;
  if (kasm && deps.kasmWritten && plan.kasm) {
    const before = await deps.kasmWritten.read();
    const done = results.filter((r) => r.status === "ok").map((r) => r.action);
    const kasmDone = done.filter((a): a is KasmAction => a.type.startsWith("kasm-"));
    const after = afterWrites(
      before,
      kasmDone,
      fleet.set,
      kasm.config,
      registryInfo(fleet.set, credentialsFor, await fingerprinter(deps)),
    );
    if (JSON.stringify(after) !== JSON.stringify(before)) await deps.kasmWritten.write(after);
  }
  return results;
}

/** The executor's hooks for a cycle that carries its plan out. */
export type ExecuteHooks = Pick<ExecutorDeps, "signal" | "drain" | "onEvent">;

export type CycleOptions = PlanOptions & {
  /** The revision to reconcile (the daemon's revision in force); absent: the branch is fetched and validated now. */
  snapshot?: Snapshot;
  /**
   * `apply PLANFILE`: carry out exactly this plan instead of a fresh one, refused as `stale-plan` when the
   * registries, agents or Kasm moved since it was made.
   */
  saved?: { plan: Plan; file: string };
  /** Stop after planning (false, the default), or carry the plan out with these hooks. */
  execute?: false | ExecuteHooks;
  /** Told the plan before its actions run (the daemon's status, apply's preview). */
  onPlanned?: (cycle: PlannedCycle) => void | Promise<void>;
};

export type CycleOutcome = PlannedCycle & {
  snapshot: Snapshot;
  /** Each action's outcome; empty when the cycle only planned. */
  results: ActionResult[];
};

/** load → observe → plan → execute: the one way a plan is made and carried out. */
export async function runCycle(
  deps: ReconcileDeps,
  options: CycleOptions = { refresh: "all" },
): Promise<CycleOutcome> {
  const { snapshot: given, saved, execute, onPlanned, ...planOptions } = options;
  const snapshot = given ?? (await loadSnapshot(deps, options.signal));
  const planned = saved
    ? await savedCycle(snapshot, deps, saved, planOptions)
    : await planSnapshot(snapshot, deps, planOptions);
  await onPlanned?.(planned);
  const results = execute ? await executeOnFleet(planned.plan, planned.fleet, deps, execute) : [];
  return { ...planned, snapshot, results };
}

/**
 * A saved plan, checked against the world now: its digests and agents, and Kasm's records compared with a
 * plan made now (whose fleet, holding its registry tokens already, then serves the checks and the apply).
 * What a plan made with `record` would write is written from a fresh look at the agents.
 */
async function savedCycle(
  snapshot: Snapshot,
  deps: ReconcileDeps,
  saved: { plan: Plan; file: string },
  options: PlanOptions,
): Promise<PlannedCycle> {
  const { plan, file } = saved;
  const { signal, onlyAgents, kasmOnly, reportMaxAgeMs } = options;
  const now =
    plan.kasm || snapshot.set.kasmServer
      ? await planSnapshot(snapshot, deps, {
          refresh: "all",
          ...(onlyAgents ? { onlyAgents } : {}),
          ...(signal ? { signal } : {}),
          ...(kasmOnly ? { kasmOnly, ...(reportMaxAgeMs ? { reportMaxAgeMs } : {}) } : {}),
        })
      : undefined;
  const fleet =
    now?.fleet ?? (await connectFleet(snapshot.set, deps, onlyAgents, kasmOnly ? { agents: false } : {}));
  const reasons = await staleReasons(plan, snapshot, fleet, deps.clock, signal);
  if (now) reasons.push(...kasmStaleReasons(plan, now.plan));
  if (reasons.length > 0) {
    throw new KasmGitopsError(
      "stale-plan",
      `the saved plan ${file} is stale; run plan again:\n  ${reasons.join("\n  ")}`,
    );
  }
  if (!kasmOnly) await recordFromAgents(snapshot, fleet, deps, signal);
  const desired = kasmOnly ? { agents: [], warnings: [] } : desiredState(snapshot.set, onlyAgents);
  return {
    plan,
    desired,
    observations: now?.observations ?? [],
    fleet,
    ...(now?.kasm ? { kasm: now.kasm } : {}),
  };
}
