import { describe, expect, it } from "vitest";
import { type KasmServerReport, reportedImages } from "./agents.js";
import { type ReportState, reportGate, reportState, wantedDigest } from "./reports.js";

const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;
const NOW = "2026-01-01T00:10:00.000Z";
const server = (hostname: string, over: Partial<KasmServerReport> = {}): KasmServerReport => ({
  serverId: `id-${hostname}`,
  hostname,
  serverType: "host",
  enabled: true,
  operationalStatus: "running",
  zoneId: "z",
  zoneName: "default",
  imageTags: ["reg:5000/app:1"],
  imageDigests: [`reg:5000/app@${D1}`],
  lastReported: "2026-01-01T00:09:59.000Z",
  ...over,
});
const report = (over: Partial<KasmServerReport> = {}) => reportedImages([server("k1", over)], NOW)[0];
const MAX = 60_000;

describe("reportState: what one agent's report proves about an image at a digest", () => {
  it.each<[string, Partial<KasmServerReport> | undefined, string, string | undefined, ReportState]>([
    ["the tag at the digest, reported a second ago", {}, "reg:5000/app:1", D1, "holds"],
    [
      "the tag in another spelling than the record's name (Kasm compares as written)",
      { imageTags: ["ubuntu:22.04"], imageDigests: [`ubuntu@${D1}`] },
      "docker.io/library/ubuntu:22.04",
      D1,
      "lacks-tag",
    ],
    [
      "Docker's short spelling, as the record writes it; the digest in any spelling",
      { imageTags: ["ubuntu:22.04"], imageDigests: [`docker.io/library/ubuntu@${D1}`] },
      "ubuntu:22.04",
      D1,
      "holds",
    ],
    ["the tag at another digest", {}, "reg:5000/app:1", D2, "lacks-digest"],
    ["the tag without any repo digest", { imageDigests: [] }, "reg:5000/app:1", D1, "lacks-digest"],
    ["another tag of the repository", {}, "reg:5000/app:2", D1, "lacks-tag"],
    ["a pinned reference: the digest alone", {}, `reg:5000/app@${D1}`, D1, "holds"],
    [
      "a report older than the bound",
      { lastReported: "2026-01-01T00:08:00.000Z" },
      "reg:5000/app:1",
      D1,
      "stale",
    ],
    ["never reported", { lastReported: null }, "reg:5000/app:1", D1, "missing"],
    ["no report at all", undefined, "reg:5000/app:1", D1, "missing"],
    [
      "no digest asked (a record without a hash): the tag alone",
      { imageDigests: [] },
      "reg:5000/app:1",
      undefined,
      "holds",
    ],
    ["no digest asked, another tag", {}, "reg:5000/app:2", undefined, "lacks-tag"],
    [
      "no digest asked, a pinned reference: its own digest",
      {},
      `reg:5000/app@${D2}`,
      undefined,
      "lacks-digest",
    ],
    [
      "no digest asked, a stale report proves nothing",
      { lastReported: "2026-01-01T00:08:00.000Z" },
      "reg:5000/app:1",
      undefined,
      "stale",
    ],
  ])("%s → %s", (_name, over, image, digest, expected) => {
    expect(reportState(over ? report(over) : undefined, image, digest, MAX)).toBe(expected);
  });
});

describe("wantedDigest: the digest a switch waits for", () => {
  it.each<[string, string, Map<string, { digest: string } | { error: string; code: string }>, unknown]>([
    ["pinned in the reference", `reg:5000/app@${D1}`, new Map(), { digest: D1 }],
    [
      "the registry's answer for the tag",
      "reg:5000/app:1",
      new Map([["reg:5000/app:1", { digest: D2 }]]),
      { digest: D2 },
    ],
    [
      "a registry that failed",
      "reg:5000/app:1",
      new Map([["reg:5000/app:1", { error: "503", code: "registry-error" }]]),
      { error: "503" },
    ],
    ["not asked", "reg:5000/app:1", new Map(), { error: "the registry was not asked for reg:5000/app:1" }],
  ])("%s", (_name, image, digests, expected) => {
    expect(wantedDigest(image, digests)).toEqual(expected);
  });
});

describe("reportGate: the switch waits for every agent Kasm may launch the record on", () => {
  const digests = new Map([["reg:5000/app:1", { digest: D1 }]]);
  const fresh = server("k1");
  const slow = server("k2", { imageTags: [], imageDigests: [] });
  const stale = server("k3", { lastReported: "2026-01-01T00:00:00.000Z" });
  const all = [fresh, slow, stale];
  const gate = (launch: KasmServerReport[] | undefined, input = { digests, maxAgeMs: MAX }) =>
    reportGate(
      "app",
      "reg:5000/app:1",
      launch,
      reportedImages(all, NOW),
      input,
      (s) => `agent-${s.hostname}`,
    );
  it.each<[string, KasmServerReport[] | undefined, string | undefined, string[]]>([
    ["every launching agent reports it", [fresh], undefined, []],
    ["one has not pulled it yet", [fresh, slow], "image-not-on-agents", ["agent-k2"]],
    ["a stale report holds before a missing image", [stale, slow], "kasm-report-stale", ["agent-k3"]],
    ["no agent may launch it", [], "image-not-on-agents", []],
    ["Kasm's agents unread", undefined, "kasm-report-stale", []],
  ])("%s", (_name, launch, reason, agents) => {
    const verdict = gate(launch);
    if (!reason) expect(verdict).toEqual({ ok: true });
    else expect(verdict).toMatchObject({ reason, blocked: { agents } });
  });
  it("holds with kasm-digest-unknown when the registry gave no digest", () => {
    expect(gate([fresh], { digests: new Map(), maxAgeMs: MAX })).toMatchObject({
      reason: "kasm-digest-unknown",
    });
  });
  it("names the bound and the agent in the message of a stale report", () => {
    const verdict = gate([stale]);
    expect("blocked" in verdict && verdict.blocked.message).toMatch(/no report newer than 60s from agent-k3/);
  });
});
