/**
 * The daemon's revision in force: the branch tip when it validates, else the last good one (this run's,
 * then the state dir's), saved for restarts. It answers with data; the reporter turns that into status,
 * metrics, logs and notifications.
 */
import { describeError } from "../core/errors.js";
import type { RevisionStore } from "../ports.js";
import type { ReconcileDeps } from "./cycle.js";
import { describeRefusal, type Refusal } from "./refusal.js";
import { acceptManifests, loadSnapshot, type Snapshot } from "./snapshot.js";

/** What one cycle learned about the revision to reconcile. */
export type RevisionOutcome = {
  /** The revision in force, if any. */
  snapshot?: Snapshot;
  /** The tip validated this cycle (it is the snapshot). */
  fresh: boolean;
  /** The tip is a revision this run did not have in force before. */
  changed: boolean;
  /** The last good revision was read back from the state dir this cycle (a restart on a bad tip). */
  restored?: string;
  /** A saved revision not used: it was saved without --verify-commits. */
  unsignedSaved?: string;
  /** Why the tip could not be used, when it could not. */
  refusal?: Refusal;
  /** The revision in force could not be saved for restarts: the message naming why, and the error. */
  unsaved?: { message: string; err: string };
};

export type RevisionInForce = {
  /** Fetches the tip and says which revision is in force now. */
  next(signal?: AbortSignal): Promise<RevisionOutcome>;
};

/** `deps` fetch and validate the tip; `store` keeps the last good revision across restarts. */
export function createRevisionInForce(deps: ReconcileDeps & { store: RevisionStore }): RevisionInForce {
  let good: Snapshot | undefined;
  /** The revision last recorded in the state dir; a failed save is retried every cycle until it lands. */
  let saved: string | undefined;

  async function restore(): Promise<Pick<RevisionOutcome, "restored" | "unsignedSaved">> {
    const record = await deps.store.read();
    if (!record) return {};
    if (deps.verifier && !record.signedBy) return { unsignedSaved: record.revision };
    const revision = { revision: record.revision, branch: record.branch, checkoutDir: "", manifestDir: "" };
    good = { revision, files: record.files, ...acceptManifests(record.files, `saved ${record.revision}`) };
    saved = record.revision;
    return { restored: record.revision };
  }

  async function save(snapshot: Snapshot): Promise<RevisionOutcome["unsaved"]> {
    if (saved === snapshot.revision.revision) return undefined;
    try {
      await deps.store.write({
        revision: snapshot.revision.revision,
        branch: snapshot.revision.branch,
        time: deps.clock.now().toISOString(),
        files: snapshot.files,
        ...(snapshot.signedBy ? { signedBy: snapshot.signedBy } : {}),
      });
      saved = snapshot.revision.revision;
      return undefined;
    } catch (error) {
      const err = describeError(error);
      return {
        message: `the last good revision could not be saved, a restart would not find it: ${err}`,
        err,
      };
    }
  }

  async function current(signal?: AbortSignal): Promise<RevisionOutcome> {
    try {
      const snapshot = await loadSnapshot(deps, signal);
      const changed = good?.revision.revision !== snapshot.revision.revision;
      good = snapshot;
      return { snapshot, fresh: true, changed };
    } catch (error) {
      const restored = good ? {} : await restore();
      const refusal = describeRefusal(error, inForceText(good));
      return { ...(good ? { snapshot: good } : {}), fresh: false, changed: false, refusal, ...restored };
    }
  }

  return {
    async next(signal) {
      const outcome = await current(signal);
      if (!outcome.snapshot) return outcome;
      const unsaved = await save(outcome.snapshot);
      return unsaved ? { ...outcome, unsaved } : outcome;
    },
  };
}

/** Never claim a revision is in force when none is (no good one this run, none recorded). */
function inForceText(good: Snapshot | undefined): string {
  return good
    ? `the last good revision ${good.revision.revision.slice(0, 12)} stays in force`
    : "no last good revision is in force, so nothing is reconciled";
}
