import { describeError, hasCode } from "../core/errors.js";
import type { RefusalReason } from "../ports.js";

/** Why a cycle could not use the branch tip, in the words the log, `/status` and notifications use. */
export type Refusal = {
  /** Undefined when the manifests could not be fetched at all (not a refusal of a revision). */
  reason?: RefusalReason;
  revision: string;
  /** `file:line:col: message` of an invalid revision's errors, at most 20. */
  problems: string[];
  /** Log fields and message; `inForce` says which revision still serves. */
  log: { fields: object; message: string };
  notification?: string;
  /** The one-line error for `/status` and the cycle record. */
  error: string;
  /** What was wrong, without the revision (`/status` lastError says which revision). */
  detail: string;
};

/** Turns a failed fetch, validation or signature check into a refusal: what, which revision, what stays in force. */
export function describeRefusal(error: unknown, inForce: string): Refusal {
  const described = describeError(error);
  if (hasCode(error, "invalid-manifest")) {
    const revision = error.context.revision ?? "unknown";
    const errors = (error.context.problems ?? []).filter((p) => p.severity === "error").slice(0, 20);
    const problems = errors.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`);
    return {
      reason: "invalid-revision",
      revision,
      problems,
      log: { fields: { revision, problems: errors }, message: `revision refused; ${inForce}` },
      notification: `revision ${revision.slice(0, 12)} was refused (${errors.length} error(s)); the last good revision stays in force. First: ${problems[0] ?? described}`,
      error: `revision ${revision} refused: ${described}`,
      detail: described,
    };
  }
  if (hasCode(error, "untrusted-revision")) {
    const revision = error.context.revision ?? "unknown";
    const { reason, key, signer } = error.context;
    return {
      reason: "untrusted-revision",
      revision,
      problems: [],
      log: {
        fields: { revision, reason, key, signer, err: described },
        message: `revision refused: not signed by a trusted key; ${inForce}`,
      },
      notification: `revision ${revision.slice(0, 12)} was refused: not signed by a trusted key (${reason}); ${inForce}. ${described}`,
      error: `revision ${revision} refused: ${described}`,
      detail: described,
    };
  }
  return {
    revision: "unknown",
    problems: [],
    log: { fields: { err: described }, message: `could not fetch the manifests; ${inForce}` },
    error: `could not fetch the manifests: ${described}`,
    detail: described,
  };
}
