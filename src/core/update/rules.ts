/** Validation of a Workspace's `update`: a pattern, an extract and a range that compile, each at its own line. */
import { error, field, type Identified } from "../manifest/rule-context.js";
import type { UpdateSpec } from "../manifest/types.js";
import { compilePolicy, UpdatePolicyError } from "./policy.js";

/** Reports the first field of `spec.update` that does not compile; the schema has checked the shapes. */
export function checkUpdatePolicy(item: Identified): void {
  const spec = field(item, "/spec/update") as UpdateSpec | undefined;
  if (spec === undefined || spec === null || typeof spec !== "object") return;
  const pointers = [
    "/spec/update/policy",
    "/spec/update/range",
    "/spec/update/filter/pattern",
    "/spec/update/filter/extract",
  ];
  if (pointers.some((p) => item.flagged.has(p)) || item.flagged.has("/spec/update/filter")) return;
  try {
    compilePolicy(spec);
  } catch (caught) {
    if (!(caught instanceof UpdatePolicyError)) throw caught;
    item.ref.add(error(caught.pointer, "invalid-update-policy", `update.${caught.message}`));
  }
}
