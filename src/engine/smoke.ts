/**
 * One smoke test in Kasm: request a session of a record as the smoke user, wait until Kasm reports it
 * running, hold it while it stays running, destroy it, and keep the verdict for the digest. The session id
 * is written to the state dir before the wait, so a restart after a kill destroys it first
 * (`destroyPending`); no session outlives its test.
 */
import { describeError, hasCode, KasmGitopsError } from "../core/errors.js";
import {
  type KasmSessionState,
  resultKey,
  type SmokeResult,
  type SmokeSettings,
  specFingerprint,
} from "../core/kasm/smoke.js";
import type { WorkspaceManifest } from "../core/manifest/types.js";
import type { Clock, KasmApi, SmokeStore } from "../ports.js";

export type SmokeRun = {
  api: KasmApi;
  store: SmokeStore;
  clock: Clock;
  workspace: WorkspaceManifest;
  /** The record's image_id, and the digest its image is at now. */
  imageId: string;
  digest: string;
  userId: string;
  settings: SmokeSettings;
  /** Between two get_kasm_status calls (default 1 s). */
  pollMs?: number;
  /** SIGTERM: the session is destroyed and no verdict is kept. */
  signal?: AbortSignal;
};

const POLL_MS = 1_000;
/** Kasm's answer when no agent it may use reports the image (yet). */
const NO_RESOURCES = /^No resources are available/;
const DESTROY_ATTEMPTS = 3;

/** Kasm's own words for a failed call, else the error's message. */
const kasmWords = (error: unknown): string =>
  (error instanceof KasmGitopsError && (error.context as { kasmMessage?: string }).kasmMessage) ||
  describeError(error);

const seconds = (ms: number) => `${Math.round(ms / 100) / 10}s`;

/** Runs one smoke test and records its result; an interrupted one is destroyed and records nothing. */
export async function runSmoke(run: SmokeRun): Promise<SmokeResult> {
  const { api, clock, workspace } = run;
  const name = workspace.metadata.name;
  const startedAt = clock.now();
  const verdict = (result: SmokeResult["result"], message: string, extra: Partial<SmokeResult> = {}) => ({
    digest: run.digest,
    workspace: name,
    result,
    message,
    startedAt: startedAt.toISOString(),
    finishedAt: clock.now().toISOString(),
    spec: specFingerprint(workspace),
    ...extra,
  });
  let kasmId: string;
  for (;;) {
    try {
      kasmId = await api.requestSession(run.imageId, run.userId, run.signal);
      break;
    } catch (error) {
      // Kasm's own refusal (No resources…, Kasm limit exceeded…) fails the digest; a key, a network or a
      // server fault says nothing of the image, so no verdict is kept and the error is the caller's.
      if (run.signal?.aborted || !hasCode(error, "kasm-refused")) throw error;
      // Kasm places a session only on an agent whose last report shows the image, and agents report every
      // few seconds: right after the pulls, No resources is asked again until the smoke's timeout.
      const waited = clock.now().getTime() - startedAt.getTime();
      const lagging = NO_RESOURCES.test(kasmWords(error)) && waited < run.settings.timeoutMs;
      if (lagging) {
        await clock.sleep(run.pollMs ?? POLL_MS, run.signal);
        continue;
      }
      return keep(run, verdict("fail", `Kasm did not start a session: ${kasmWords(error)}`));
    }
  }
  const state = await run.store.read();
  state.pending.push({
    kasmId,
    userId: run.userId,
    workspace: name,
    digest: run.digest,
    requestedAt: startedAt.toISOString(),
  });
  await run.store.write(state);
  let outcome: SmokeResult;
  try {
    outcome = await watch(run, kasmId, startedAt, verdict);
  } finally {
    await destroy(api, kasmId, run.userId);
    const after = await run.store.read();
    after.pending = after.pending.filter((p) => p.kasmId !== kasmId);
    await run.store.write(after);
  }
  return keep(run, outcome);
}

type Verdict = (result: SmokeResult["result"], message: string, extra?: Partial<SmokeResult>) => SmokeResult;

/** The hostname Kasm lists for an agent id, for people to read; undefined when it cannot be read. */
async function hostnameOf(api: KasmApi, serverId: string | null, signal?: AbortSignal) {
  if (!serverId) return undefined;
  try {
    return (await api.listServers(signal)).find((s) => s.serverId === serverId)?.hostname;
  } catch {
    return undefined;
  }
}

/** Waits for Kasm to report the session running, then holds it while it stays running. */
async function watch(run: SmokeRun, kasmId: string, startedAt: Date, verdict: Verdict): Promise<SmokeResult> {
  const { api, clock, settings } = run;
  const poll = run.pollMs ?? POLL_MS;
  const deadline = startedAt.getTime() + settings.timeoutMs;
  let last: KasmSessionState = { phase: "waiting", status: "requested" };
  let runningAt: Date | undefined;
  let where: Partial<SmokeResult> = {};
  for (;;) {
    try {
      last = await api.sessionState(kasmId, run.userId, run.signal);
    } catch (error) {
      if (run.signal?.aborted || !hasCode(error, "kasm-refused")) throw error;
      return verdict("fail", `Kasm could not say where the session is: ${kasmWords(error)}`, where);
    }
    const now = clock.now();
    if (last.phase === "reported") {
      where = {
        ...(last.serverId ? { server: last.serverId } : {}),
        ...(last.containerId ? { containerId: last.containerId } : {}),
        ...(runningAt ? { runningAt: runningAt.toISOString() } : {}),
      };
      if (last.status !== "running") {
        const ran = runningAt
          ? ` after ${seconds(now.getTime() - runningAt.getTime())} running`
          : " before it ran";
        return verdict("fail", `the session stopped${ran} (Kasm reports it ${last.status})`, where);
      }
      if (!runningAt) {
        runningAt = now;
        where.runningAt = now.toISOString();
      }
      if (now.getTime() - runningAt.getTime() >= settings.holdMs) {
        const host = await hostnameOf(api, last.serverId, run.signal);
        return verdict(
          "pass",
          `ran for ${seconds(settings.holdMs)} on Kasm agent ${host ?? last.serverId ?? "?"}`,
          { ...where, ...(host ? { serverHostname: host } : {}) },
        );
      }
    } else if (now.getTime() >= deadline) {
      return verdict(
        "fail",
        `no running session within ${seconds(settings.timeoutMs)}: Kasm still says "This session is currently ${last.status}."`,
        where,
      );
    }
    const wait = runningAt ? Math.min(poll, runningAt.getTime() + settings.holdMs - now.getTime()) : poll;
    await clock.sleep(Math.max(wait, 0), run.signal);
  }
}

/** Destroys a session, retried; refused, it is looked up: a session Kasm no longer lists is gone. */
async function destroy(api: KasmApi, kasmId: string, userId: string): Promise<void> {
  let failure: unknown;
  for (let attempt = 0; attempt < DESTROY_ATTEMPTS; attempt++) {
    try {
      await api.destroySession(kasmId, userId);
      return;
    } catch (error) {
      failure = error;
      const listed = await api.listSessions().catch(() => undefined);
      if (listed && !listed.some((s) => s.kasmId === kasmId)) return;
    }
  }
  throw new KasmGitopsError(
    "kasm-error",
    `the smoke session ${kasmId} could not be destroyed (${describeError(failure)}); its id stays in the state dir and the next run destroys it first`,
    { fn: "destroy_kasm" },
    { cause: failure },
  );
}

async function keep(run: SmokeRun, result: SmokeResult): Promise<SmokeResult> {
  const state = await run.store.read();
  state.results[resultKey(result.workspace, result.digest)] = result;
  await run.store.write(state);
  return result;
}

/** Destroys every session an earlier run started and did not see destroyed (a kill, a failed destroy). */
export async function destroyPending(api: KasmApi, store: SmokeStore): Promise<string[]> {
  const state = await store.read();
  const destroyed: string[] = [];
  for (const pending of state.pending) {
    await destroy(api, pending.kasmId, pending.userId);
    destroyed.push(pending.kasmId);
    const now = await store.read();
    now.pending = now.pending.filter((p) => p.kasmId !== pending.kasmId);
    await store.write(now);
  }
  return destroyed;
}
