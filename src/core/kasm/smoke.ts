/**
 * Smoke tests in Kasm, the pure parts: a Workspace's settings, the result kept per digest, which digests a
 * run would test, and what the gate says of a digest. The session itself is run by engine/smoke.ts.
 */
import { createHash } from "node:crypto";
import { parseDuration } from "../duration.js";
import type { WorkspaceManifest } from "../manifest/types.js";

export const SMOKE_DEFAULTS = { timeoutMs: 5 * 60_000, holdMs: 30_000 } as const;
export type SmokeSettings = { timeoutMs: number; holdMs: number };

/** A session of the smoke user as get_kasm_status reports it: not running yet, or with its `kasm` object. */
export type KasmSessionState =
  | { phase: "waiting"; status: string }
  | { phase: "reported"; status: string; serverId: string | null; containerId: string | null };

/** A session kasm-gitops started and has not yet seen destroyed: written before the wait, so a restart ends it. */
export type PendingSession = {
  kasmId: string;
  userId: string;
  workspace: string;
  digest: string;
  requestedAt: string;
};

export type SmokeVerdict = "pass" | "fail";
/** The result of one smoke test of one digest, as kept in the state dir. */
export type SmokeResult = {
  digest: string;
  workspace: string;
  result: SmokeVerdict;
  /** Kasm's words, or what was seen (`running for 30s`, `no running session within 5m`). */
  message: string;
  /** The Kasm agent (server_id) the session ran on, when Kasm placed it. */
  server?: string;
  /** That agent's hostname, as get_servers lists it (for people: commit messages, plans). */
  serverHostname?: string;
  containerId?: string;
  startedAt: string;
  /** When Kasm first reported the session running. */
  runningAt?: string;
  finishedAt: string;
  /** The Workspace's manifest as tested: a failed digest is tested again only once it changes. */
  spec: string;
};

export type SmokeState = { results: Record<string, SmokeResult>; pending: PendingSession[] };
export const EMPTY_SMOKE_STATE: SmokeState = { results: {}, pending: [] };

/** The Workspace's smoke settings, or undefined when it asks for none. */
export function smokeSettings(w: WorkspaceManifest): SmokeSettings | undefined {
  const smoke = w.spec.smoke;
  if (smoke === undefined) return undefined;
  const given = smoke === true ? {} : smoke;
  return {
    timeoutMs: (given.timeout && parseDuration(given.timeout)) || SMOKE_DEFAULTS.timeoutMs,
    holdMs:
      given.hold === undefined ? SMOKE_DEFAULTS.holdMs : (parseDuration(given.hold) ?? SMOKE_DEFAULTS.holdMs),
  };
}

/** What of a Workspace a smoke result depends on: a change here lets a failed digest be tested again. */
export const specFingerprint = (w: WorkspaceManifest): string =>
  createHash("sha256").update(JSON.stringify(w.spec)).digest("hex").slice(0, 16);

/** The key a result is kept under: one result per digest and workspace. */
export const resultKey = (workspace: string, digest: string) => `${workspace}@${digest}`;

/**
 * Whether a run should test `digest` of `w`: never tested, or failed while the Workspace's manifest was
 * different (a failed digest is not retried until Git changes). `force`: `kasm-gitops smoke` by hand.
 */
export function smokeDue(
  w: WorkspaceManifest,
  digest: string,
  state: SmokeState,
  force = false,
): { due: true; reason: "untested" | "retry" | "by-hand" } | { due: false; result: SmokeResult } {
  const result = state.results[resultKey(w.metadata.name, digest)];
  if (force) return { due: true, reason: "by-hand" };
  if (!result) return { due: true, reason: "untested" };
  if (result.result === "fail" && result.spec !== specFingerprint(w)) return { due: true, reason: "retry" };
  return { due: false, result };
}

/** What the promotion gate says of a digest of a workspace that asks for smoke tests. */
export type SmokeGate =
  | { ok: true; result: SmokeResult }
  | { ok: false; reason: "smoke-missing" | "smoke-failed"; message: string };

export function smokeGate(workspace: string, digest: string, state: SmokeState): SmokeGate {
  const result = state.results[resultKey(workspace, digest)];
  if (!result)
    return {
      ok: false,
      reason: "smoke-missing",
      message: `digest ${digest} has no smoke test in Kasm of workspace "${workspace}" yet`,
    };
  if (result.result === "fail")
    return {
      ok: false,
      reason: "smoke-failed",
      message: `the smoke test of digest ${digest} in Kasm (workspace "${workspace}") failed: ${result.message}`,
    };
  return { ok: true, result };
}
