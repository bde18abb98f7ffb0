import { describe, expect, it } from "vitest";
import { planOf } from "../../test/helpers/plans.js";
import type { Action, KasmUpdateAction, Plan, UnknownCause } from "../core/plan/types.js";
import { kasmStaleReasons } from "./stale.js";

const update = (from: number, after: number[] = []): KasmUpdateAction => ({
  type: "kasm-update",
  workspace: "chrome",
  imageId: "id-1",
  reason: "drift",
  changes: [{ field: "cores", from, to: 2 }],
  after,
});
const plan = (actions: Action[], unknown: UnknownCause[] = []): Plan =>
  planOf({ actions, unknown, kasm: { url: "https://kasm.test" } });
const unread: UnknownCause = { kind: "kasm", name: "kasm", reason: "kasm-unauthorized", message: "HTTP 401" };

describe("kasmStaleReasons", () => {
  it.each<[string, Plan, Plan, string[]]>([
    ["the same changes: not stale", plan([update(6)]), plan([update(6)]), []],
    ["only the pulls it waits for moved: not stale", plan([update(6, [0])]), plan([update(6, [1])]), []],
    [
      "the record was edited again since the plan",
      plan([update(6)]),
      plan([update(8)]),
      [
        "Kasm changed since the plan: kasm-update chrome was planned against records that differ now",
        "Kasm changed since the plan: kasm-update chrome is needed now and not in the plan",
      ],
    ],
    [
      "put back by hand since: the update is no longer needed",
      plan([update(6)]),
      plan([]),
      ["Kasm changed since the plan: kasm-update chrome was planned against records that differ now"],
    ],
    [
      "Kasm cannot be read now",
      plan([update(6)]),
      plan([], [unread]),
      ["Kasm kasm could not be read to check the plan: HTTP 401"],
    ],
  ])("%s", (_, saved, now, expected) => {
    expect(kasmStaleReasons(saved, now)).toEqual(expected);
  });
});
