import { describe, expect, it } from "vitest";
import { checkManifestFiles } from "../manifest/validate.js";
import { gitPlacementMismatch } from "./placement-rules.js";

const KASM_SERVER = `apiVersion: kasm-gitops/v1
kind: KasmServer
metadata: {name: kasm}
spec:
  url: https://kasm.example.com
  apiKey: {env: KASM_SECRET_KASM_API_KEY}
  apiKeySecret: {env: KASM_SECRET_KASM_API_KEY_SECRET}
`;

/** An Agent document; `kasm` is its spec.kasm flow mapping, if any. */
const agent = (name: string, ring: string, kasm?: string) =>
  [
    "apiVersion: kasm-gitops/v1",
    "kind: Agent",
    `metadata: {name: ${name}, labels: {ring: ${ring}}}`,
    "spec:",
    `  docker: {host: "unix:///run/${name}.sock"}`,
    ...(kasm ? [`  kasm: ${kasm}`] : []),
    "",
  ].join("\n");

/** A Workspace whose selector key is at line 7, column 5 (its image at 5:3 without one). */
const workspace = (ring: string | undefined, ...kasm: string[]) =>
  [
    "apiVersion: kasm-gitops/v1",
    "kind: Workspace",
    "metadata: {name: chrome}",
    "spec:",
    "  image: registry.example.com/kasm/chrome:1",
    ...(ring ? ["  agents:", `    matchLabels: {ring: ${ring}}`] : []),
    ...(kasm.length > 0 ? ["  kasm:", ...kasm.map((l) => `    ${l}`)] : []),
    "",
  ].join("\n");

/** Name, ring label and Kasm zone of each Agent; canary c1 sits in the production zone. */
const FLEET = (
  [
    ["t1", "testing", "testing"],
    ["t2", "testing", "testing"],
    ["p1", "production", "production"],
    ["p2", "production", "production"],
    ["c1", "canary", "production"],
  ] as const
)
  .map(([name, ring, zone]) => agent(name, ring, `{server: host-${name}, zone: ${zone}}`))
  .join("---\n");

const validate = (...docs: string[]) =>
  checkManifestFiles(docs.map((text, i) => ({ file: `${i}.yaml`, text }))).problems.filter(
    (p) => p.code === "kasm-placement" || p.code === "kasm-server-missing",
  );

describe("validate warns where Kasm may launch a record beyond its agents", () => {
  it.each([
    ["one zone's Agents exactly", "testing", [], 0],
    ["one agent", "canary", [], 0],
    ["part of a zone (p1, p2 but not c1 of production)", "production", [], 1],
    ["part of a zone, accepted with placement: any", "production", ["placement: any"], 0],
    ["every agent (no selector), two zones", undefined, [], 1],
  ] as const)("%s", (_name, ring, kasm, count) => {
    const problems = validate(KASM_SERVER, FLEET, workspace(ring, ...kasm));
    expect(problems).toHaveLength(count);
    for (const p of problems) {
      expect(p).toMatchObject({ severity: "warning", code: "kasm-placement", file: "2.yaml" });
      expect(p.message).toContain('workspace "chrome":');
      expect(p.message).toContain("kasm.placement: any");
    }
  });

  it("points at the selector, else at the image", () => {
    expect(validate(KASM_SERVER, FLEET, workspace("production"))[0]).toMatchObject({ line: 7, col: 5 });
    expect(validate(KASM_SERVER, FLEET, workspace(undefined))[0]).toMatchObject({ line: 5, col: 3 });
  });

  it.each([
    ["no KasmServer", [FLEET]],
    ["no Agent naming its Kasm agent", [KASM_SERVER, agent("a", "production"), agent("b", "production")]],
  ])("says nothing with %s (placement is left to Kasm)", (_name, docs) => {
    expect(validate(...docs, workspace("production"))).toEqual([]);
  });
});

describe("gitPlacementMismatch", () => {
  const a = (name: string, ring: string, server?: string, zone?: string) => ({
    name,
    labels: { ring },
    ...(server ? { server } : {}),
    ...(zone ? { zone } : {}),
  });
  it.each([
    ["the whole zone", [a("x", "r", "hx", "z"), a("y", "r", "hy", "z")], undefined],
    ["two Agents of one Kasm agent", [a("x", "r", "h", "z"), a("y", "r", "H", "z")], undefined],
    [
      "an Agent naming no server",
      [a("x", "r", "hx", "z"), a("y", "r", undefined, "z")],
      "Agent(s) y name no",
    ],
    ["Agents of no zone", [a("x", "r", "hx"), a("y", "r", "hy")], "are not all the agents of one Kasm zone"],
    [
      "a zone with one more Agent",
      [a("x", "r", "hx", "z"), a("y", "r", "hy", "z"), a("w", "other", "hw", "z")],
      "its agents (x, y)",
    ],
    ["no agent selected", [a("x", "other", "hx", "z")], undefined],
  ])("%s", (_name, agents, mismatch) => {
    const found = gitPlacementMismatch({ ring: "r" }, agents);
    if (mismatch === undefined) expect(found).toBeUndefined();
    else expect(found).toContain(mismatch);
  });
});

describe("pinDigest", () => {
  it.each([
    ["with a KasmServer", [KASM_SERVER], []],
    ["on an image pinned by digest already", [KASM_SERVER], []],
    ["without a KasmServer", [], ["kasm-server-missing"]],
  ])("%s", (name, extra, codes) => {
    const image = name.includes("digest already")
      ? `registry.example.com/kasm/chrome@sha256:${"a".repeat(64)}`
      : "registry.example.com/kasm/chrome:1";
    const problems = validate(
      ...extra,
      workspace(undefined, "pinDigest: true").replace(/image: .*/, `image: ${image}`),
    );
    expect(problems.map((p) => p.code)).toEqual(codes);
    if (codes.length > 0) expect(problems[0]).toMatchObject({ severity: "warning", line: 7, col: 16 });
  });
});
