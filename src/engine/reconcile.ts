import { randomBytes } from "node:crypto";
import { describeError, hasCode, KasmGitopsError } from "../core/errors.js";
import { type CredentialsFingerprint, keyedFingerprint } from "../core/fingerprint.js";
import { parseImageReference } from "../core/image/reference.js";
import type { KasmServerConfig } from "../core/kasm/plan.js";
import type { KasmObservation } from "../core/kasm/types.js";
import type { ManifestFile } from "../core/manifest/load.js";
import type { SecretPolicy } from "../core/manifest/secret-policy.js";
import {
  type AgentManifest,
  DEFAULTS,
  type KasmServerManifest,
  type ManifestSet,
  type Problem,
  type RegistryManifest,
} from "../core/manifest/types.js";
import { checkManifestFiles } from "../core/manifest/validate.js";
import { planDecisions } from "../core/plan/decisions.js";
import { type DesiredState, desiredState, type RefreshScope, refsToCheck } from "../core/plan/desired.js";
import { nextDepartures, rebuildEntries } from "../core/plan/ledger-history.js";
import { type AgentObservation, buildPlan, type PlanInput } from "../core/plan/plan.js";
import { promotionRefs } from "../core/plan/promotion.js";
import { pruningAgents } from "../core/plan/prune.js";
import type { KasmAction, Plan } from "../core/plan/types.js";
import type { RetryPolicy } from "../core/retry.js";
import { type TrustVerdict, untrustedMessage } from "../core/revision/trust.js";
import type {
  Clock,
  DebugLogger,
  DockerAgent,
  GitRevision,
  GitSource,
  KasmApi,
  KasmWrittenStore,
  Ledger,
  LedgerState,
  RevisionVerifier,
} from "../ports.js";
import { type ActionResult, type ExecutorDeps, executePlan, type RegistryAccess } from "./executor.js";
import { afterWrites, kasmServerConfig, observeKasm, readsKasmAgents, registryInfo } from "./kasm-sync.js";
import { observeAgents, resolveDigests } from "./observe.js";

/** The side effects a reconcile needs, injected from src/app.ts. */
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
  /** References this policy refuses make a revision invalid, before any secret is read. */
  secrets?: SecretPolicy;
  /** Where the planner's decisions go at debug level. */
  debugLog?: DebugLogger;
  /** The deadline for one whole registry refresh (`--registry-timeout`). */
  registryTimeoutMs?: number;
};

/** A revision read and validated: what the fleet should look like, and the files it came from. */
export type Snapshot = {
  revision: GitRevision;
  set: ManifestSet;
  problems: Problem[];
  files: ManifestFile[];
  /** With --verify-commits: the fingerprint of the trusted key that signed the tip. */
  signedBy?: string;
};

/** The agents and registries of a snapshot, connected. */
export type Fleet = {
  agents: Map<string, DockerAgent>;
  limits: Map<string, number>;
  registries: Map<string, RegistryAccess>;
  /** The registry that serves an image, by its host (docs/manifests.md: an image's host is its Registry's). */
  accessForImage: (image: string) => RegistryAccess | undefined;
  accessForHost: (host: string) => RegistryAccess | undefined;
  /** The set it was connected for. */
  set: ManifestSet;
  /** The KasmServer's API, or why it could not be reached. */
  kasm?: { config: KasmServerConfig; api?: KasmApi; error?: string; reason?: "kasm-config" };
};

/** Reads and validates a set of manifest files; an invalid set is refused whole with every problem. */
export function acceptManifests(
  files: ManifestFile[],
  where: string,
  revision?: string,
  secrets?: SecretPolicy,
): Pick<Snapshot, "set" | "problems"> {
  const { set, problems } = checkManifestFiles(
    files,
    secrets ? { secrets: { policy: secrets, severity: "error" } } : {},
  );
  const errors = problems.filter((p) => p.severity === "error");
  if (errors.length > 0) {
    throw new KasmGitopsError("invalid-manifest", `${errors.length} error(s) in the manifests at ${where}`, {
      problems,
      ...(revision ? { revision } : {}),
    });
  }
  return { set, problems };
}

/** Refuses a revision whose tip commit is not signed by a trusted key, naming the commit, key and reason. */
export async function checkTrust(revision: GitRevision, verifier: RevisionVerifier, signal?: AbortSignal) {
  let verdict: TrustVerdict;
  try {
    verdict = await verifier.verify(revision, signal);
  } catch (error) {
    // A key file that became unreadable since startup: the revision cannot be checked, so it is not used.
    if (!(error instanceof KasmGitopsError && error.code === "invalid-trust-file")) throw error;
    verdict = { trusted: false, reason: "cannot-check", detail: error.message };
  }
  if (verdict.trusted) return verdict;
  throw new KasmGitopsError(
    "untrusted-revision",
    untrustedMessage(revision.revision, revision.branch, verdict),
    {
      revision: revision.revision,
      reason: verdict.reason,
      ...(verdict.key ? { key: verdict.key } : {}),
      ...(verdict.signer ? { signer: verdict.signer } : {}),
    },
  );
}

/** Fetches the branch, checks its signature when asked to, and validates its manifests. */
export async function loadSnapshot(deps: ReconcileDeps, signal?: AbortSignal): Promise<Snapshot> {
  const revision = await deps.git.sync(signal);
  const trusted = deps.verifier ? await checkTrust(revision, deps.verifier, signal) : undefined;
  const files = await deps.readManifests(revision.manifestDir, revision.checkoutDir);
  const where = `${revision.branch}@${revision.revision.slice(0, 12)}`;
  return {
    revision,
    files,
    ...acceptManifests(files, where, revision.revision, deps.secrets),
    ...(trusted ? { signedBy: trusted.key } : {}),
  };
}

/** Connects to every Registry and (selected) Agent of the set. */
export async function connectFleet(
  set: ManifestSet,
  deps: ReconcileDeps,
  onlyAgents?: string[],
): Promise<Fleet> {
  const defaultLimit = set.settings?.spec.maxConcurrentPulls ?? DEFAULTS.maxConcurrentPulls;
  const agents = new Map<string, DockerAgent>();
  const limits = new Map<string, number>();
  for (const manifest of set.agents) {
    if (onlyAgents?.length && !onlyAgents.includes(manifest.metadata.name)) continue;
    agents.set(manifest.metadata.name, await deps.agentFor(manifest));
    limits.set(manifest.metadata.name, manifest.spec.maxConcurrentPulls ?? defaultLimit);
  }
  const registries = new Map<string, RegistryAccess>();
  const byHost = new Map<string, RegistryAccess>();
  for (const manifest of set.registries) {
    const access = await deps.registryFor(manifest);
    registries.set(manifest.metadata.name, access);
    if (!byHost.has(manifest.spec.host)) byHost.set(manifest.spec.host, access);
  }
  let kasm: Fleet["kasm"];
  if (set.kasmServer && deps.kasmFor) {
    const config = kasmServerConfig(set.kasmServer);
    try {
      kasm = { config, api: await deps.kasmFor(set.kasmServer) };
    } catch (error) {
      // A secret that does not resolve is the operator's to fix, not Kasm being down.
      const configError = hasCode(error, "secret-unresolved", "secret-not-allowed", "usage");
      kasm = {
        config,
        error: configError
          ? `KasmServer "${set.kasmServer.metadata.name}" cannot be used as configured: ${describeError(error)}`
          : describeError(error),
        ...(configError ? { reason: "kasm-config" as const } : {}),
      };
    }
  }
  return {
    agents,
    limits,
    registries,
    accessForImage: (image) => byHost.get(parseImageReference(image).registry),
    accessForHost: (host) => byHost.get(host),
    set,
    ...(kasm ? { kasm } : {}),
  };
}

/** Observes Kasm for a plan: its records and the groups Git names now or named before. */
async function kasmInput(
  fleet: Fleet,
  deps: ReconcileDeps,
  signal?: AbortSignal,
): Promise<PlanInput["kasm"]> {
  const kasm = fleet.kasm;
  if (!kasm) return undefined;
  const written = (await deps.kasmWritten?.read()) ?? { records: {}, groups: [] };
  const { observed, groupsRead } = kasm.api
    ? await observeKasm(kasm.api, signal, { agents: readsKasmAgents(fleet.set) })
    : {
        observed: {
          reachable: false as const,
          error: kasm.error ?? "no Kasm API",
          ...(kasm.reason ? { reason: kasm.reason } : {}),
        },
        groupsRead: [],
      };
  return {
    server: kasm.config,
    observed,
    groupsRead,
    registries: registryInfo(
      fleet.set,
      (name) => fleet.registries.get(name)?.credentials,
      await fingerprinter(deps),
    ),
    applied: new Map(Object.entries(written.records)),
  };
}

/** The state dir's keyed credential fingerprints; without a state store, a key of this process only. */
async function fingerprinter(deps: ReconcileDeps): Promise<CredentialsFingerprint> {
  if (deps.kasmWritten) return deps.kasmWritten.fingerprinter();
  processKey ??= keyedFingerprint(randomBytes(32));
  return processKey;
}
let processKey: CredentialsFingerprint | undefined;

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
  const fleet = await connectFleet(snapshot.set, deps, options.onlyAgents);
  const desired = desiredState(snapshot.set, options.onlyAgents);
  // With --agent (one reconciler per node), only those agents are observed; promotion verification
  // then also relies on the ledger.
  const enabled = desired.agents.filter((a) => a.enabled).map((a) => fleet.agents.get(a.agent)!);
  // The ledger is read while the agents answer, so parsing it never runs back to back with buildPlan:
  // at 200 agents each is tens of ms of synchronous work, and together they stalled the event loop.
  const [observed, kasm, ledger] = await Promise.all([
    observeAgents(enabled, options.signal, {
      containersOf: pruningAgents(snapshot.set),
      ...(options.diskUsage ? { diskUsage: true } : {}),
    }),
    // A reconciler limited to some agents cannot know whether every agent holds an image.
    options.onlyAgents?.length ? undefined : kasmInput(fleet, deps, options.signal),
    deps.ledger.read(),
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
      message: `Kasm records are not synced by a reconciler limited with --agent: run one reconciler without --agent for ${fleet.kasm.config.url}`,
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
    ...(api ? { kasm: { api, credentialsFor } } : {}),
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
