import { describe, expect, it } from "vitest";
import { manifestSet, workspace } from "../../../test/helpers/manifests.js";
import type { UpdateSpec } from "../../core/manifest/types.js";
import { updateSchedules } from "./updater.js";

const w = (name: string, update?: Partial<UpdateSpec>, enabled = true) =>
  workspace(name, {
    image: "reg:5000/kasm/x:1",
    enabled,
    ...(update ? { update: { policy: "numerical", ...update } } : {}),
  });

describe("updateSchedules", () => {
  it.each([
    [
      "own schedules, the rest on Settings' refresh schedule",
      undefined,
      { "*/5 * * * *": ["a"], "0 6 * * *": ["b", "c"] },
    ],
    [
      "--refresh wins over Settings for the rest",
      "*/10 * * * *",
      { "*/5 * * * *": ["a"], "*/10 * * * *": ["b", "c"] },
    ],
  ])("%s", (_, refresh, expected) => {
    const set = manifestSet({
      settingsSpec: { refreshSchedule: "0 6 * * *" },
      workspaces: [
        w("a", { schedule: "*/5 * * * *" }),
        w("b", {}),
        w("c", {}),
        w("off", {}, false),
        w("plain"),
      ],
    });
    expect(Object.fromEntries(updateSchedules(set, refresh))).toEqual(expected);
  });
  it("no revision in force: no timers", () => {
    expect(updateSchedules(undefined).size).toBe(0);
  });
});
