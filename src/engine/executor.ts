import { describeError, hasCode, KasmGitopsError } from "../core/errors.js";
import { parseImageReference } from "../core/image/reference.js";
import { actionSubject } from "../core/plan/render.js";
import type {
  Action,
  KasmAction,
  Plan,
  PromoteAction,
  PullAction,
  RemoveAction,
  SmokeAction,
} from "../core/plan/types.js";
import { DEFAULT_RETRY, isRateLimited, type RetryPolicy, withRetry } from "../core/retry.js";
import type { Clock, Credentials, DockerAgent, Ledger, PullProgress, RegistryClient } from "../ports.js";
import { awaitKasmReports } from "./kasm-report-wait.js";
import { type KasmExecution, runKasmAction } from "./kasm-sync.js";
import { executeRemovals } from "./remove-images.js";
import type { SmokeExecution } from "./smoke-actions.js";

export type ActionStatus = "ok" | "failed" | "skipped";
export type ActionResult = {
  action: Action;
  status: ActionStatus;
  durationMs: number;
  attempts: number;
  digest?: string;
  /** The Kasm record the action wrote (a create's new id). */
  imageId?: string;
  error?: { code: string; message: string };
};

/** Everything the executor reports while it works: drives progress bars, JSON lines and metrics. */
export type ExecutorEvent =
  | { type: "start"; action: Action; attempt: number; inFlight: number; queued: number }
  | { type: "progress"; action: PullAction; progress: PullProgress }
  | { type: "retry"; action: Action; attempt: number; delayMs: number; error: string }
  | { type: "registry-paused"; registry: string; ms: number }
  | { type: "done"; result: ActionResult };

/** Where an image's registry is reached and with which credentials. */
export type RegistryAccess = { client: RegistryClient; credentials?: Credentials };

export type ExecutorDeps = {
  agents: ReadonlyMap<string, DockerAgent>;
  /** `maxConcurrentPulls` per agent. */
  limits: ReadonlyMap<string, number>;
  registryFor: (image: string) => RegistryAccess | undefined;
  ledger: Pick<Ledger, "append">;
  clock: Clock;
  revision: string;
  retry?: RetryPolicy;
  random?: () => number;
  /** Aborts in-flight work (a hard stop). */
  signal?: AbortSignal;
  /** Stops starting new work while in-flight pulls finish (a graceful stop). */
  drain?: AbortSignal;
  onEvent?: (event: ExecutorEvent) => void;
  /** The Kasm API and registry tokens, when the plan has `kasm-*` actions. */
  kasm?: KasmExecution;
  /** Runs a `smoke` action (Kasm and the state dir's smoke results); absent: smoke actions are skipped. */
  smoke?: SmokeExecution;
};

/** Kasm writes in flight at once: a handful, so the web app is never flooded. */
const KASM_CONCURRENCY = 4;

/** Runs tasks with at most `limit` in flight, in the order they ask. */
export function createSlots(limit: number) {
  let free = limit;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (free === 0) await new Promise<void>((resolve) => waiting.push(resolve));
    else free--;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else free++;
    }
  };
}

/** A failure's code; one a stop cut off is `stopped`, never mistaken for a fault of the image or of Kasm. */
const failure = (error: unknown, stopped: boolean) =>
  error instanceof KasmGitopsError
    ? { code: error.code, message: describeError(error) }
    : stopped
      ? { code: "stopped", message: `stopped before it finished (${describeError(error)})` }
      : { code: "internal", message: describeError(error) };

/** Copies the tested manifest bytes under the moving tag, so digest and multi-arch index stay identical. */
async function promote(action: PromoteAction, access: RegistryAccess, signal?: AbortSignal): Promise<string> {
  const target = parseImageReference(action.image);
  const source = parseImageReference(action.source);
  const manifest = await access.client.getManifest(source, action.targetDigest, signal);
  const digest = await access.client.putManifest(
    target,
    target.tag!,
    manifest.body,
    manifest.mediaType,
    signal,
  );
  if (digest !== action.targetDigest) {
    throw new KasmGitopsError(
      "promotion-failed",
      `${action.image} now points at ${digest}, not the tested ${action.targetDigest}`,
      { image: action.image },
    );
  }
  return digest;
}

/** Per-registry pause after a 429: every agent waits it out instead of hammering the registry. */
class RegistryGate {
  private readonly until = new Map<string, number>();
  constructor(private readonly clock: Clock) {}
  pause(host: string, ms: number) {
    this.until.set(host, Math.max(this.until.get(host) ?? 0, this.clock.now().getTime() + ms));
  }
  async wait(host: string, signal?: AbortSignal) {
    for (;;) {
      const left = (this.until.get(host) ?? 0) - this.clock.now().getTime();
      if (left <= 0) return;
      await this.clock.sleep(left, signal);
    }
  }
}

/**
 * Carries out a plan: promotions first, then pulls, at most `limit` in flight per agent with no idle
 * slot while that agent has work queued, all agents in parallel, then removals (pruning). One failure
 * never stops the others.
 */
export async function executePlan(plan: Plan, deps: ExecutorDeps): Promise<ActionResult[]> {
  const policy = deps.retry ?? DEFAULT_RETRY;
  const gate = new RegistryGate(deps.clock);
  const emit = (event: ExecutorEvent) => deps.onEvent?.(event);
  // Every action's outcome as a promise, so a Kasm action starts as soon as the pulls it waits for end.
  const settle = new Map<Action, (result: ActionResult) => void>();
  const outcomes = plan.actions.map(
    (action) => new Promise<ActionResult>((resolve) => settle.set(action, resolve)),
  );
  const finish = (result: ActionResult) => {
    settle.get(result.action)?.(result);
    emit({ type: "done", result });
    return result;
  };

  async function run(
    action: Action,
    work: (attempt: number) => Promise<string | undefined>,
    retry: RetryPolicy = policy,
  ): Promise<ActionResult> {
    const started = deps.clock.now().getTime();
    let attempts = 0;
    let result: ActionResult;
    try {
      const { value, attempts: used } = await withRetry(
        (attempt) => {
          attempts = attempt;
          return work(attempt);
        },
        {
          policy: retry,
          clock: deps.clock,
          ...(deps.signal ? { signal: deps.signal } : {}),
          ...(deps.random ? { random: deps.random } : {}),
          onRetry: (attempt, delayMs, error) =>
            emit({ type: "retry", action, attempt, delayMs, error: describeError(error) }),
        },
      );
      const written = action.type.startsWith("kasm-") ? "imageId" : "digest";
      result = {
        action,
        status: "ok",
        attempts: used,
        durationMs: 0,
        ...(value ? { [written]: value } : {}),
      };
    } catch (error) {
      // A hard stop aborts everything; a graceful one (drain) aborts only smoke sessions, never a pull.
      const stopped =
        deps.signal?.aborted === true || (action.type === "smoke" && deps.drain?.aborted === true);
      result = { action, status: "failed", attempts, durationMs: 0, error: failure(error, stopped) };
    }
    result.durationMs = deps.clock.now().getTime() - started;
    return finish(result);
  }

  const promotions = plan.actions.filter((a): a is PromoteAction => a.type === "promote");
  const promoted = await Promise.all(
    promotions.map((action) =>
      run(action, async (attempt) => {
        const access = deps.registryFor(action.image);
        if (!access)
          throw new KasmGitopsError("promotion-failed", `no registry configured for ${action.image}`);
        emit({ type: "start", action, attempt, inFlight: 1, queued: 0 });
        return promote(action, access, deps.signal);
      }),
    ),
  );
  const failedTags = new Set(
    promoted.filter((r) => r.status !== "ok").map((r) => (r.action as PromoteAction).image),
  );

  const byAgent = new Map<string, PullAction[]>();
  for (const action of plan.actions) {
    if (action.type === "pull") byAgent.set(action.agent, [...(byAgent.get(action.agent) ?? []), action]);
  }
  const kasmActions = plan.actions.filter((a): a is KasmAction => a.type.startsWith("kasm-"));
  const smokeActions = plan.actions.filter((a): a is SmokeAction => a.type === "smoke");
  const [pullResults, kasmResults, smokeResults] = await Promise.all([
    Promise.all([...byAgent].map(([agentName, queue]) => runAgentQueue(agentName, [...queue]))),
    runKasm(kasmActions),
    Promise.all(smokeActions.map(runSmokeAction)),
  ]);
  // Removals last, once the Kasm records point at the new images. A Kasm change that did not succeed
  // may leave a record on an image about to go, so then nothing is removed this cycle (kept, retried next).
  const removals = plan.actions.filter((a): a is RemoveAction => a.type === "remove");
  const kasmFailed = kasmResults.find((r) => r.status !== "ok");
  const removed = kasmFailed
    ? removals.map((r) => skip(r, `kept: ${kasmHeld(kasmFailed)}`))
    : await executeRemovals(removals, { ...deps, emit });
  return [...promoted, ...pullResults.flat(), ...kasmResults, ...smokeResults, ...removed];

  /**
   * A smoke test once the switch and pulls it follows are done (skipped when one failed). A stop, graceful
   * or not, aborts it: its session is destroyed before the process ends, and no verdict is kept.
   */
  async function runSmokeAction(action: SmokeAction): Promise<ActionResult> {
    const after = await Promise.all(action.after.map((i) => outcomes[i]).filter((o) => o !== undefined));
    const failed = after.find((r) => r.status !== "ok");
    if (failed) return skip(action, heldBecause(failed));
    const smoke = deps.smoke;
    if (!smoke) return skip(action, "smoke tests need Kasm and the state dir in this run");
    if (deps.signal?.aborted || deps.drain?.aborted)
      return skip(action, "stopping: the smoke test was not started");
    const stops = [deps.signal, deps.drain].filter((s): s is AbortSignal => s !== undefined);
    const signal = stops.length > 0 ? AbortSignal.any(stops) : undefined;
    const createdId = after.find((r) => r.action.type === "kasm-create")?.imageId;
    return run(
      action,
      (attempt) => {
        emit({ type: "start", action, attempt, inFlight: 1, queued: 0 });
        return smoke(action, createdId, signal);
      },
      { ...policy, attempts: 1 },
    );
  }

  /**
   * Kasm actions, each once every action it waits for (`after`) is done: held (skipped, with the reason)
   * when one of them failed, so users keep the old image. Never retried here: a create or a group add
   * repeated after a lost answer would duplicate; the next cycle observes what happened instead.
   */
  async function runKasm(actions: KasmAction[]): Promise<ActionResult[]> {
    const slots = createSlots(KASM_CONCURRENCY);
    const position = new Map(plan.actions.map((a, i) => [a, i]));
    return Promise.all(
      actions.map(async (action) => {
        const waits = "after" in action ? action.after : [];
        // A saved plan edited by hand may name an action it does not have: never run on that.
        const own = position.get(action)!;
        const missing = waits.find((i) => !Number.isInteger(i) || i < 0 || i >= own);
        if (missing !== undefined)
          return skip(
            action,
            `its plan names action ${missing} to wait for, which it does not have before it`,
          );
        const after = await Promise.all(waits.map((i) => outcomes[i]!));
        const failed = after.find((r) => r.status !== "ok");
        if (failed) return skip(action, heldBecause(failed));
        const kasm = deps.kasm;
        if (!kasm) return skip(action, "Kasm is not reachable in this run");
        const createdId = after.find((r) => r.action.type === "kasm-create")?.imageId;
        // A switch with Kasm's agents in view is made once they report the image: Kasm launches only there.
        // The wait holds no write slot, so other records' changes go on meanwhile; what it failed with is the
        // action's failure.
        const unreported = await reportsAwaited(action, kasm);
        return slots(() => {
          if (deps.signal?.aborted || deps.drain?.aborted) {
            return Promise.resolve(skip(action, "stopping: the Kasm change was not started"));
          }
          const work = async (attempt: number) => {
            emit({ type: "start", action, attempt, inFlight: 1, queued: 0 });
            if (unreported) throw unreported;
            return runKasmAction(action, kasm, createdId, deps.signal);
          };
          return run(action, work, { ...policy, attempts: 1 });
        });
      }),
    );
  }

  /** Waits for Kasm's reports a switch asks for; resolves with why they did not come, or undefined. */
  async function reportsAwaited(action: KasmAction, kasm: KasmExecution): Promise<unknown> {
    if ((action.type !== "kasm-create" && action.type !== "kasm-update") || !action.awaitReports)
      return undefined;
    return awaitKasmReports(kasm.api, action.awaitReports, {
      clock: deps.clock,
      ...(kasm.reportWaitMs !== undefined ? { timeoutMs: kasm.reportWaitMs } : {}),
      ...(deps.signal ? { signal: deps.signal } : {}),
    }).then(
      () => undefined,
      (error: unknown) => error,
    );
  }

  function heldBecause(failed: ActionResult): string {
    const what =
      failed.action.type === "pull"
        ? `the pull of ${failed.action.image} on ${failed.action.agent}`
        : `${failed.action.type} ${actionSubject(failed.action)}`;
    const reason = failed.error?.message ?? failed.status;
    return `held: ${what} did not succeed (${reason}); users keep the current image`;
  }

  function kasmHeld(failed: ActionResult): string {
    const reason = failed.error?.message ?? failed.status;
    return `${failed.action.type} ${actionSubject(failed.action)} did not succeed (${reason}); a Kasm record may still use the image`;
  }

  async function runAgentQueue(agentName: string, queue: PullAction[]): Promise<ActionResult[]> {
    const agent = deps.agents.get(agentName);
    const limit = Math.max(1, deps.limits.get(agentName) ?? 2);
    const results: ActionResult[] = [];
    let inFlight = 0;
    const lane = async () => {
      for (let action = queue.shift(); action; action = queue.shift()) {
        if (deps.signal?.aborted || deps.drain?.aborted) {
          results.push(skip(action, "stopping: the pull was not started"));
          continue;
        }
        if (failedTags.has(action.image)) {
          results.push(skip(action, "its promotion failed, so the moving tag was not pulled"));
          continue;
        }
        inFlight++;
        try {
          results.push(
            await run(action, (attempt) => pullOnce(agent, action, attempt, inFlight, queue.length)),
          );
        } finally {
          inFlight--;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, lane));
    return results;
  }

  function skip(action: Action, message: string): ActionResult {
    const result: ActionResult = {
      action,
      status: "skipped",
      attempts: 0,
      durationMs: 0,
      error: { code: "skipped", message },
    };
    return finish(result);
  }

  async function pullOnce(
    agent: DockerAgent | undefined,
    action: PullAction,
    attempt: number,
    inFlight: number,
    queued: number,
  ): Promise<string | undefined> {
    if (!agent) throw new KasmGitopsError("agent-unreachable", `no agent named "${action.agent}"`);
    const access = deps.registryFor(action.image);
    const host = parseImageReference(action.image).registry;
    await gate.wait(host, deps.signal);
    emit({ type: "start", action, attempt, inFlight, queued });
    try {
      const { digest } = await agent.pull(action.image, {
        ...(access?.credentials ? { auth: access.credentials } : {}),
        ...(deps.signal ? { signal: deps.signal } : {}),
        workspaces: action.workspaces,
        onProgress: (progress) => emit({ type: "progress", action, progress }),
      });
      const recorded = digest ?? action.targetDigest;
      if (recorded) {
        await deps.ledger.append({
          time: deps.clock.now().toISOString(),
          agent: action.agent,
          image: action.image,
          digest: recorded,
          revision: deps.revision,
          workspaces: action.workspaces,
        });
      }
      return recorded;
    } catch (error) {
      if (isRateLimited(error)) await pauseRegistry(action.image, access, error);
      throw error;
    }
  }

  /** Learns the registry's Retry-After (a cheap HEAD when the engine did not pass it on) and pauses it. */
  async function pauseRegistry(image: string, access: RegistryAccess | undefined, error: unknown) {
    const ref = parseImageReference(image);
    let ms = hasCode(error, "registry-rate-limited", "pull-failed") ? error.context.retryAfterMs : undefined;
    if (ms === undefined && access) {
      await access.client.headDigest(ref, deps.signal).catch(() => undefined);
      ms = access.client.rateLimit().retryAfterMs;
    }
    const host = ref.registry;
    ms ??= policy.baseMs;
    gate.pause(host, ms);
    emit({ type: "registry-paused", registry: host, ms });
  }
}
