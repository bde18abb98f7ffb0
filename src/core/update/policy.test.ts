import { describe, expect, it } from "vitest";
import type { UpdateSpec } from "../manifest/types.js";
import { chooseTag, compilePolicy, jsExtract, jsPattern, type TagChoice } from "./policy.js";

const DATED = ["latest", "20261120", "20261201", "20261206", "2026120", "20261206-rc", "nightly"];
const SEMVER = [
  "1.15.2",
  "1.16.0",
  "1.17.0-rc.1",
  "1.17.0",
  "2.0.0",
  "v1.16.3",
  "1.18",
  "latest",
  "main-abc",
];
const ts = { pattern: "^(?<ts>\\d{8})$", extract: "$<ts>" };

/** A choice in one word: `candidate 20261206 of 3`, `up-to-date 20261206 of 3`, `no-match`. */
const said = (c: TagChoice) =>
  c.status === "no-match" ? c.status : `${c.status} ${"tag" in c ? c.tag : c.newest} of ${c.considered}`;
const flux = { pattern: "^(?P<ts>\\d{8})$", extract: "$ts" };
const n = (filter?: UpdateSpec["filter"]): UpdateSpec => ({
  policy: "numerical",
  ...(filter ? { filter } : {}),
});
const sv = (range?: string): UpdateSpec => ({ policy: "semver", ...(range ? { range } : {}) });

describe("chooseTag", () => {
  it.each<[string, UpdateSpec, readonly string[], string | undefined, string]>([
    ["dated tags, numerical", n(ts), DATED, "20261201", "candidate 20261206 of 3"],
    ["Flux's spelling of the same filter", n(flux), DATED, "20261201", "candidate 20261206 of 3"],
    ["dated tags, already newest", n(ts), DATED, "20261206", "up-to-date 20261206 of 3"],
    ["dated tags, Git ahead of the registry", n(ts), DATED, "20261231", "up-to-date 20261206 of 3"],
    ["a tag outside the policy in Git (latest)", n(ts), DATED, "latest", "candidate 20261206 of 3"],
    ["numerical without a filter: numbers only", n(), DATED, "20261201", "candidate 20261206 of 4"],
    [
      "the registry's order does not matter",
      n(ts),
      [...DATED].reverse(),
      undefined,
      "candidate 20261206 of 3",
    ],
    [
      "extract part of a tag",
      n({ pattern: "^main-[a-f0-9]+-(?<n>\\d+)$", extract: "$<n>" }),
      ["main-ab-9", "main-cd-10", "main-ef-2"],
      "main-ab-9",
      "candidate main-cd-10 of 3",
    ],
    [
      "alphabetical",
      { policy: "alphabetical", filter: { pattern: "^rel-" } },
      ["rel-a", "rel-c", "rel-b", "x"],
      "rel-a",
      "candidate rel-c of 3",
    ],
    ["semver, range excludes 2.x and pre-releases", sv(">=1.16 <2"), SEMVER, "1.16.0", "candidate 1.18 of 4"],
    [
      "semver, pre-release allowed by the range",
      sv(">=1.17.0-rc.0 <1.17.1"),
      SEMVER,
      "1.16.0",
      "candidate 1.17.0 of 2",
    ],
    [
      "semver, only the pre-release in range",
      sv(">=1.17.0-rc.0 <1.17.0"),
      SEMVER,
      "1.16.0",
      "candidate 1.17.0-rc.1 of 1",
    ],
    ["semver, no range: every release", sv(), SEMVER, "1.17.0", "candidate 2.0.0 of 6"],
    ["semver, v prefix", sv("~1.16"), SEMVER, "1.16.0", "candidate v1.16.3 of 2"],
    ["semver never moves backwards out of range", sv("<2"), SEMVER, "2.0.0", "up-to-date 1.18 of 5"],
    ["nothing passes", sv(">=3"), SEMVER, "1.16.0", "no-match"],
  ])("%s", (_, spec, tags, current, expected) => {
    expect(said(chooseTag(tags, compilePolicy(spec), current))).toBe(expected);
  });
});

describe("compilePolicy refuses", () => {
  it.each<[UpdateSpec, string, RegExp]>([
    [
      { policy: "numerical", filter: { pattern: "^(\\d+$" } },
      "/spec/update/filter/pattern",
      /filter.pattern is not a regular expression/,
    ],
    [
      { policy: "numerical", filter: { pattern: "^(?<ts>\\d+)$", extract: "$<tz>" } },
      "/spec/update/filter/extract",
      /names the group "tz" that filter.pattern does not have \(it has "ts"\)/,
    ],
    [
      { policy: "numerical", filter: { pattern: "^\\d+$", extract: "$ts" } },
      "/spec/update/filter/extract",
      /it has no named group/,
    ],
    [{ policy: "semver", range: ">=one" }, "/spec/update/range", /range ">=one" is not a semver range/],
    [
      { policy: "alphabetical", range: "1.x" },
      "/spec/update/range",
      /range applies only to policy: semver, not alphabetical/,
    ],
  ])("%j at %s", (spec, pointer, message) => {
    expect(() => compilePolicy(spec)).toThrow(message);
    expect(() => compilePolicy(spec)).toThrow(expect.objectContaining({ pointer }));
  });
});

describe("Flux's spellings", () => {
  it.each([
    ["^(?P<ts>\\d+)$", "^(?<ts>\\d+)$"],
    ["^(?<ts>\\d+)$", "^(?<ts>\\d+)$"],
  ])("pattern %s → %s", (flux, js) => expect(jsPattern(flux)).toBe(js));
  it.each([
    ["$ts", "$<ts>"],
    ["$" + "{ts}", "$<ts>"],
    ["$<ts>", "$<ts>"],
    ["$1", "$1"],
    ["v$major.$minor", "v$<major>.$<minor>"],
  ])("extract %s → %s", (flux, js) => expect(jsExtract(flux)).toBe(js));
});
