import { describe, expect, it } from "vitest";
import type { ReportedImages } from "./agents.js";
import { type AwaitReports, notYetReported, reportWait } from "./report-wait.js";

const IMAGE = "reg:5000/kasm/chrome:20261206";
const D1 = `sha256:${"1".repeat(64)}`;
const D0 = `sha256:${"0".repeat(64)}`;
const report = (
  serverId: string,
  tags: string[],
  digests: string[],
  reportAgeMs: number | null = 1000,
): ReportedImages => ({
  serverId,
  hostname: `host-${serverId}`,
  zoneName: "default",
  tags: new Set(tags),
  reportedTags: new Set(tags),
  digests: new Set(digests.map((d) => `reg:5000/kasm/chrome@${d}`)),
  reportAgeMs,
});
const wait = (digest?: string): AwaitReports => ({
  servers: [
    { serverId: "s1", hostname: "host-s1" },
    { serverId: "s2", hostname: "host-s2" },
  ],
  image: IMAGE,
  ...(digest ? { digest } : {}),
});

describe("notYetReported", () => {
  it.each([
    [
      "both report the tag at the digest: none missing",
      D1,
      [report("s1", [IMAGE], [D1]), report("s2", [IMAGE], [D1])],
      [],
    ],
    [
      "one has not reported the pull yet",
      D1,
      [report("s1", [IMAGE], [D1]), report("s2", [], [])],
      [["host-s2", "lacks-tag"]],
    ],
    [
      "one reports the tag at the old digest",
      D1,
      [report("s1", [IMAGE], [D1]), report("s2", [IMAGE], [D0])],
      [["host-s2", "lacks-digest"]],
    ],
    [
      "one's report is too old to say anything",
      D1,
      [report("s1", [IMAGE], [D1]), report("s2", [IMAGE], [D1], 600_000)],
      [["host-s2", "stale"]],
    ],
    [
      "one never reported",
      D1,
      [report("s1", [IMAGE], [D1]), report("s2", [IMAGE], [D1], null)],
      [["host-s2", "missing"]],
    ],
    ["one Kasm no longer lists", D1, [report("s1", [IMAGE], [D1])], [["host-s2", "missing"]]],
    [
      "no digest known: the tag as the record names it is enough",
      undefined,
      [report("s1", [IMAGE], []), report("s2", [IMAGE], [])],
      [],
    ],
    [
      "no digest known, tag missing",
      undefined,
      [report("s1", [IMAGE], []), report("s2", ["reg:5000/kasm/chrome:20261201"], [])],
      [["host-s2", "lacks-tag"]],
    ],
  ] as const)("%s", (_, digest, reports, missing) => {
    const found = notYetReported(wait(digest), reports, 300_000).map((m) => [m.hostname, m.state]);
    expect(found).toEqual(missing);
  });
});

describe("reportWait", () => {
  it.each([
    ["no Kasm agents in view: nothing to wait for", undefined, undefined],
    ["no agent may launch it: nothing to wait for", [], undefined],
  ] as const)("%s", (_, launch, expected) => {
    expect(reportWait(IMAGE, launch, D1)).toEqual(expected);
  });
  it("names each agent that may launch it, the image as written and the digest", () => {
    const launch = [
      {
        serverId: "s1",
        hostname: "a1",
        serverType: "host",
        enabled: true,
        operationalStatus: "running",
        zoneId: "z",
        zoneName: "default",
        imageTags: [],
        imageDigests: [],
        lastReported: null,
      },
    ];
    expect(reportWait(IMAGE, launch, D1)).toEqual({
      servers: [{ serverId: "s1", hostname: "a1" }],
      image: IMAGE,
      digest: D1,
    });
  });
});
