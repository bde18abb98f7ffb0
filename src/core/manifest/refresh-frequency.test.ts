import { describe, expect, it } from "vitest";
import { minimumCronGap, refreshFrequencyProblem } from "./refresh-frequency.js";
import { checkManifestFiles } from "./validate.js";

const FROM = new Date(Date.UTC(2026, 10, 30, 14, 0, 0));
const MIN = 60_000;

describe("minimumCronGap", () => {
  it.each([
    ["* * * * * *", 1000],
    ["*/10 * * * * *", 10_000],
    ["* * * * *", MIN],
    ["*/2 * * * *", 2 * MIN],
    ["*/5 * * * *", 5 * MIN],
    ["0 * * * *", 60 * MIN],
    ["0 */4 * * *", 240 * MIN],
    // The shortest gap crosses midnight: 23:59 → 00:00.
    ["0,59 0,23 * * *", MIN],
    // Dense only on the first of the month: found from the 30th of November too.
    ["* * 1 * *", MIN],
    ["0 3 * * 1", 7 * 24 * 60 * MIN],
    ["0 0 1 1 *", 365 * 24 * 60 * MIN],
    ["0 0 29 2 *", undefined],
  ])("%s → %s ms", (expression, gap) => {
    expect(minimumCronGap(expression, FROM)).toBe(gap);
  });
});

describe("refreshFrequencyProblem", () => {
  it.each([
    ["* * * * * *", "error", /every 1 s/],
    ["*/30 * * * * *", "error", /every 30 s/],
    ["* * * * *", "warning", /every 1 min/],
    ["*/4 * * * *", "warning", /every 4 min/],
    ["*/5 * * * *", undefined, undefined],
    ["0 * * * *", undefined, undefined],
  ])("%s → %s", (expression, severity, message) => {
    const problem = refreshFrequencyProblem(expression, FROM);
    expect(problem?.severity).toBe(severity);
    if (message) expect(problem?.message).toMatch(message);
  });

  it.each([
    [
      "refresh",
      /^refresh "\* \* \* \* \* \*" .*one registry request per tag each time: refresh at most once/,
    ],
    [
      "update",
      /^update schedule "\* \* \* \* \* \*" .*one tag listing per repository each time: check at most once/,
    ],
  ] as const)("a %s schedule says what it costs", (kind, message) => {
    expect(refreshFrequencyProblem("* * * * * *", FROM, kind)?.message).toMatch(message);
  });
});

describe("validate judges refresh crons by the same rule", () => {
  const settings = (schedule: string) =>
    `apiVersion: kasm-gitops/v1\nkind: Settings\nmetadata: {name: default}\nspec: {refreshSchedule: "${schedule}"}\n`;
  const workspace = (refresh: string) =>
    `apiVersion: kasm-gitops/v1\nkind: Workspace\nmetadata: {name: w}\nspec: {image: "kasmweb/chrome:1", refresh: "${refresh}"}\n`;
  it.each([
    ["Settings", settings("* * * * * *"), "error", "/spec/refreshSchedule"],
    ["Settings", settings("*/2 * * * *"), "warning", "/spec/refreshSchedule"],
    ["Settings", settings("0 * * * *"), undefined, undefined],
    ["Workspace", workspace("* * * * * *"), "error", "/spec/refresh"],
    ["Workspace", workspace("* * * * *"), "warning", "/spec/refresh"],
    ["Workspace", workspace("*/15 * * * *"), undefined, undefined],
  ])("%s %#", (_kind, text, severity, pointer) => {
    const found = checkManifestFiles([{ file: "a.yaml", text }]).problems.filter(
      (p) => p.code === "refresh-too-often",
    );
    expect(found.map((p) => p.severity)).toEqual(severity ? [severity] : []);
    if (pointer)
      expect(found[0]!.message).toMatch(new RegExp(`^${pointer.slice(1).replace("/", ".")}: refresh "`));
  });
});
