import { describe, expect, it } from "vitest";
import { manifestSet, registry, workspace } from "../../test/helpers/manifests.js";
import { effectiveSchedule } from "./schedule.js";

const ws = (name: string, refresh?: string, enabled = true) =>
  workspace(name, {
    image: `reg.test:5000/kasm/${name}:1`,
    registry: "corp",
    enabled,
    ...(refresh ? { refresh } : {}),
  });

describe("effectiveSchedule", () => {
  it.each([
    [
      "defaults without a repo",
      undefined,
      {},
      { intervalMs: 30_000, refreshCron: "0 * * * *", workspaceCrons: [] },
    ],
    [
      "the repo's Settings",
      manifestSet({ settingsSpec: { interval: "2m", refreshSchedule: "*/15 * * * *" } }),
      {},
      { intervalMs: 120_000, refreshCron: "*/15 * * * *", workspaceCrons: [] },
    ],
    [
      "flags win over Settings",
      manifestSet({ settingsSpec: { interval: "2m", refreshSchedule: "*/15 * * * *" } }),
      { intervalMs: 5000, refreshCron: "0 3 * * *" },
      { intervalMs: 5000, refreshCron: "0 3 * * *", workspaceCrons: [] },
    ],
    [
      "one timer per distinct workspace cron; default, never and disabled workspaces add none",
      manifestSet({
        registries: [registry("corp", "reg.test:5000")],
        workspaces: [
          ws("a", "0 3 * * *"),
          ws("b", "0 3 * * *"),
          ws("c", "*/5 * * * *"),
          ws("d", "default"),
          ws("e", "never"),
          ws("f"),
          ws("g", "0 4 * * *", false),
        ],
      }),
      {},
      { intervalMs: 30_000, refreshCron: "0 * * * *", workspaceCrons: ["*/5 * * * *", "0 3 * * *"] },
    ],
  ])("%s", (_, set, overrides, expected) => {
    expect(effectiveSchedule(set, overrides)).toEqual(expected);
  });
});
