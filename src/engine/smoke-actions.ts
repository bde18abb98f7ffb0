/**
 * The plan's `smoke` actions, carried out: one at a time (so one smoke per digest), each through runSmoke as
 * the KasmServer's smoke user, after the sessions an earlier run left are destroyed. A failed verdict is a
 * failed action with code `smoke-failed` and what Kasm said.
 */
import { KasmGitopsError } from "../core/errors.js";
import { SMOKE_DEFAULTS, smokeSettings } from "../core/kasm/smoke.js";
import type { ManifestSet } from "../core/manifest/types.js";
import type { SmokeAction } from "../core/plan/types.js";
import type { Clock, KasmApi, SmokeStore } from "../ports.js";
import { createSlots } from "./executor.js";
import { destroyPending, runSmoke } from "./smoke.js";

/** What the executor calls for a smoke action; resolves to the digest tested, throws on fail or error. */
export type SmokeExecution = (
  action: SmokeAction,
  createdId: string | undefined,
  signal?: AbortSignal,
) => Promise<string>;

export function smokeExecution(deps: {
  api: KasmApi;
  store: SmokeStore;
  clock: Clock;
  set: ManifestSet;
  pollMs?: number;
}): SmokeExecution {
  const one = createSlots(1);
  let user: Promise<string> | undefined;
  const userId = (signal?: AbortSignal) => {
    const username = deps.set.kasmServer?.spec.smoke?.user;
    if (!username) throw new KasmGitopsError("usage", "the KasmServer names no smoke user (spec.smoke.user)");
    user ??= destroyPending(deps.api, deps.store).then(() => deps.api.findUserId(username, signal));
    user.catch(() => {
      user = undefined;
    });
    return user;
  };
  return (action, createdId, signal) =>
    one(async () => {
      const workspace = deps.set.workspaces.find((w) => w.metadata.name === action.workspace);
      const imageId = action.imageId ?? createdId;
      if (!workspace || !imageId)
        throw new KasmGitopsError(
          "internal",
          `smoke test of ${action.workspace}: no workspace or record to test`,
        );
      const result = await runSmoke({
        api: deps.api,
        store: deps.store,
        clock: deps.clock,
        workspace,
        imageId,
        digest: action.digest,
        userId: await userId(signal),
        settings: smokeSettings(workspace) ?? { ...SMOKE_DEFAULTS },
        ...(deps.pollMs ? { pollMs: deps.pollMs } : {}),
        ...(signal ? { signal } : {}),
      });
      if (result.result === "fail")
        throw new KasmGitopsError(
          "smoke-failed",
          `smoke test of ${action.workspace} at ${action.digest} failed: ${result.message}`,
          {
            workspace: action.workspace,
            digest: action.digest,
          },
        );
      return action.digest;
    });
}
