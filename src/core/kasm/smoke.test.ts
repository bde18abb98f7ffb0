import { describe, expect, it } from "vitest";
import type { WorkspaceManifest } from "../manifest/types.js";
import {
  EMPTY_SMOKE_STATE,
  resultKey,
  type SmokeResult,
  type SmokeState,
  smokeDue,
  smokeGate,
  smokeSettings,
  specFingerprint,
} from "./smoke.js";

const ws = (smoke?: WorkspaceManifest["spec"]["smoke"], image = "reg/chrome:1"): WorkspaceManifest =>
  ({
    apiVersion: "kasm-gitops/v1",
    kind: "Workspace",
    metadata: { name: "chrome" },
    spec: { image, ...(smoke === undefined ? {} : { smoke }) },
  }) as WorkspaceManifest;
const D = "sha256:aaa";
const result = (verdict: SmokeResult["result"], w = ws(true)): SmokeResult => ({
  digest: D,
  workspace: "chrome",
  result: verdict,
  message: verdict === "pass" ? "ran for 30s on Kasm agent s1" : "the session stopped before it ran",
  startedAt: "2026-01-01T00:00:00Z",
  finishedAt: "2026-01-01T00:00:31Z",
  spec: specFingerprint(w),
});
const state = (r?: SmokeResult): SmokeState =>
  r ? { results: { [resultKey("chrome", D)]: r }, pending: [] } : EMPTY_SMOKE_STATE;

describe("smokeSettings", () => {
  it.each<[WorkspaceManifest["spec"]["smoke"], ReturnType<typeof smokeSettings>]>([
    [undefined, undefined],
    [true, { timeoutMs: 300_000, holdMs: 30_000 }],
    [{}, { timeoutMs: 300_000, holdMs: 30_000 }],
    [
      { timeout: "2m", hold: "0s" },
      { timeoutMs: 120_000, holdMs: 0 },
    ],
    [{ hold: "5s" }, { timeoutMs: 300_000, holdMs: 5_000 }],
  ])("%j → %j", (smoke, expected) => {
    expect(smokeSettings(ws(smoke))).toEqual(expected);
  });
});

describe("smokeDue: a digest is tested once; a failed one again only when Git changes", () => {
  it.each<[string, SmokeState, WorkspaceManifest, boolean, string]>([
    ["never tested", state(), ws(true), false, "untested"],
    ["passed", state(result("pass")), ws(true), false, "kept"],
    ["failed, same manifest", state(result("fail")), ws(true), false, "kept"],
    ["failed, the manifest changed", state(result("fail")), ws({ hold: "1m" }), false, "retry"],
    ["passed, the manifest changed", state(result("pass")), ws({ hold: "1m" }), false, "kept"],
    ["by hand, whatever was kept", state(result("pass")), ws(true), true, "by-hand"],
  ])("%s → %s", (_, s, w, force, expected) => {
    const due = smokeDue(w, D, s, force);
    expect(due.due ? due.reason : "kept").toBe(expected);
  });
});

describe("smokeGate", () => {
  it.each<[string, SmokeState, boolean, string | undefined]>([
    ["no result: smoke-missing", state(), false, "smoke-missing"],
    ["failed: smoke-failed, with what was seen", state(result("fail")), false, "smoke-failed"],
    ["passed", state(result("pass")), true, undefined],
  ])("%s", (_, s, ok, reason) => {
    const gate = smokeGate("chrome", D, s);
    expect(gate.ok).toBe(ok);
    if (!gate.ok) {
      expect(gate.reason).toBe(reason);
      expect(gate.message).toContain(D);
      if (reason === "smoke-failed") expect(gate.message).toContain("the session stopped before it ran");
    }
  });
});
