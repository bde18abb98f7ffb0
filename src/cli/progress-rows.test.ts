import { describe, expect, it } from "vitest";
import { type AgentView, elideMiddle, progressMode, progressRow } from "./progress-rows.js";

const chars = (text: string) => [...text].length;

describe("elideMiddle", () => {
  it.each([
    ["kasm/chrome:1.2", 20, "kasm/chrome:1.2"],
    ["kasm/chrome:1.2", 15, "kasm/chrome:1.2"],
    ["kasm/chrome:1.2", 9, "kasm…:1.2"],
    ["registry.example.com:5000/kasm/chrome:20261120", 21, "registry.e…e:20261120"],
    ["abc", 1, "…"],
    ["abc", 0, ""],
  ])("%s in %d → %s", (text, max, expected) => {
    expect(elideMiddle(text, max)).toBe(expected);
    expect(chars(elideMiddle(text, max))).toBeLessThanOrEqual(Math.max(max, 0));
  });
});

describe("progressMode", () => {
  it.each([
    [120, "xterm-256color", "live"],
    [70, "xterm", "live"],
    [40, undefined, "live"],
    [39, "xterm", "lines"],
    [20, "xterm", "lines"],
    [120, "dumb", "lines"],
    [undefined, "xterm", "lines"],
    [0, "xterm", "lines"],
  ] as const)("%s columns, TERM=%s → %s", (columns, term, mode) => {
    expect(progressMode(columns, term)).toBe(mode);
  });
});

const two: AgentView = {
  name: "agent-1",
  ok: 2,
  failed: 0,
  queued: 3,
  running: [
    { subject: "corp-registry.example.com:5000/kasm/chrome:20261120", state: "45%", bytes: "1.2 GB/2.7 GB" },
    { subject: "corp-registry.example.com:5000/kasm/firefox:128.0esr", state: "7%", bytes: "90 MB/1.3 GB" },
  ],
};
const one: AgentView = { ...two, name: "production-agent-eu-west", running: [two.running[0]!] };
const idle: AgentView = { name: "a1", ok: 4, failed: 1, queued: 0, running: [] };

describe("progressRow fits the width", () => {
  it.each([200, 120, 100, 80, 70, 60, 50, 40])("two pulls in %d columns", (columns) => {
    const row = progressRow(two, columns);
    expect(chars(row)).toBeLessThanOrEqual(columns - 1);
    expect(row.startsWith("  agent-1")).toBe(true);
    expect(row).toContain("45%");
  });

  it.each([200, 100, 70, 50, 40])("one pull of a long-named agent in %d columns", (columns) => {
    const row = progressRow(one, columns);
    expect(chars(row)).toBeLessThanOrEqual(columns - 1);
    expect(row.startsWith("  production-")).toBe(true);
    expect(row).toContain("45%");
  });

  it.each([
    [
      200,
      "  agent-1: 2 done, 0 failed, 3 queued | corp-registry.example.com:5000/kasm/chrome:20261120 45% 1.2 GB/2.7 GB, corp-registry.example.com:5000/kasm/firefox:128.0esr 7% 90 MB/1.3 GB",
    ],
    [
      120,
      "  agent-1: 2 done, 0 failed, 3 queued | corp-registry.exa…m/chrome:20261120 45%, corp-registry.exa…/firefox:128.0esr 7%",
    ],
    [70, "  agent-1: 2 done, 0 failed, 3 queued | corp…61120 45%, corp….0esr 7%"],
    [60, "  agent-1: 2 done, 3 queued | corp…61120 45%, corp….0esr 7%"],
    [40, "  agent-1 | corp…1120 45%, corp…0esr 7%"],
  ])(
    "two pulls in %d columns: bytes go first, then the references' middles, then the counts",
    (columns, row) => {
      expect(progressRow(two, columns)).toBe(row);
    },
  );

  it.each([
    [60, "  production-agent-eu-west: 2 done, 3 queued | cor…1120 45%"],
    [40, "  production-…ent-eu-west | cor…120 45%"],
  ])("a long agent name in %d columns is shortened last", (columns, row) => {
    expect(progressRow(one, columns)).toBe(row);
  });

  it.each([
    [70, "  a1: 4 done, 1 failed, 0 queued"],
    [20, "  a1: 4 done, 1 fa…"],
  ])("an idle agent in %d columns", (columns, row) => {
    expect(progressRow(idle, columns)).toBe(row);
  });
});
