import { describe, expect, it } from "vitest";
import { renderPlan, summaryLine } from "./render.js";
import type { Plan, RemoveAction } from "./types.js";

const img = "reg.test:5000/kasm/chrome";
const remove = (agent: string, image: string, bytes: number, tags: string[] = [image]): RemoveAction => ({
  type: "remove",
  agent,
  image,
  id: `sha256:${"c".repeat(64)}`,
  bytes,
  reason: tags.length === 0 ? "dangling" : "unused",
  tags,
});
const plan = (actions: RemoveAction[]): Plan => ({
  version: 1,
  revision: "0123456789abcdef0123456789abcdef01234567",
  branch: "main",
  actions,
  blocked: [],
  warnings: [],
  unknown: [],
  summary: {
    pull: 0,
    promote: 0,
    blocked: 0,
    unknown: 0,
    incomplete: false,
    remove: actions.length,
    removeBytes: actions.reduce((s, a) => s + a.bytes, 0),
  },
});
const full = plan([
  remove("a1", `${img}:1`, 3.2 * 1024 ** 3, [`${img}:1`, `${img}:one`]),
  remove("a1", `${img}@sha256:${"d".repeat(64)}`, 1536, []),
  remove("a2", `${img}:1`, 160),
]);

describe("removals in the text plan", () => {
  it.each([
    [
      "a multi-tag image with its size, reason and short id",
      /agent a1: prune\n {2}- reg\.test:5000\/kasm\/chrome:1 \(also reg\.test:5000\/kasm\/chrome:one\) {2}3\.2 GB {2}unused, id cccccccccccc\n/,
    ],
    [
      "a dangling image by its repo digest",
      /- reg\.test:5000\/kasm\/chrome@sha256:d{64} {2}1\.5 kB {2}dangling/,
    ],
    ["the second agent", /agent a2: prune\n {2}- reg\.test:5000\/kasm\/chrome:1 {2}160 B {2}unused/],
  ])("%s", (_name, pattern) => {
    expect(renderPlan(full, { color: false })).toMatch(pattern);
  });

  it.each([
    [full, "Plan: 3 removals (3.2 GB)."],
    [plan([remove("a1", `${img}:1`, 160)]), "Plan: 1 removal (160 B)."],
    [plan([]), "No changes."],
  ])("%#: summary %s", (p, line) => {
    expect(summaryLine(p)).toBe(line);
  });
});
