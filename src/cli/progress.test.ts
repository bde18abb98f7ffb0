import { stripVTControlCharacters } from "node:util";
import { describe, expect, it } from "vitest";
import type { Plan, PullAction } from "../core/plan/types.js";
import type { ActionResult, ExecutorEvent } from "../engine/executor.js";
import type { CliIo } from "./io.js";
import { applySummary, formatBytes, terminalProgress } from "./progress.js";

describe("formatBytes", () => {
  it.each([
    [0, "0 B"],
    [160, "160 B"],
    [1536, "1.5 kB"],
    [5 * 1024 * 1024, "5.0 MB"],
    [3.2 * 1024 ** 3, "3.2 GB"],
  ])("%d → %s", (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});

describe("applySummary with Kasm changes", () => {
  const update = {
    type: "kasm-update" as const,
    workspace: "chrome",
    imageId: "r1",
    reason: "changed" as const,
    changes: [],
    after: [0],
  };
  const plan = (blocked: Plan["blocked"] = [], incomplete = false): Plan => ({
    version: 1,
    revision: "r".repeat(40),
    branch: "main",
    actions: [],
    blocked,
    warnings: incomplete
      ? [{ code: "kasm-unreachable", message: "Kasm at https://kasm.test could not be read: 401" }]
      : [],
    unknown: incomplete
      ? [{ kind: "kasm", name: "kasm", reason: "kasm-unreachable", message: "could not be read: 401" }]
      : [],
    summary: {
      pull: 0,
      promote: 0,
      blocked: blocked.length,
      kasm: 1,
      unknown: incomplete ? 1 : 0,
      incomplete,
    },
  });
  const ok: ActionResult = { action: update, status: "ok", attempts: 1, durationMs: 5 };
  const held: ActionResult = {
    action: update,
    status: "skipped",
    attempts: 0,
    durationMs: 0,
    error: {
      code: "skipped",
      message: "held: the pull of x on a1 did not succeed (boom); users keep the current image",
    },
  };
  it.each([
    ["converged", [ok], plan(), ["Apply complete: 0 pulled, 1 Kasm change(s) made, 0 failed."]],
    [
      "a switch held after a failed pull",
      [held],
      plan(),
      [
        "Apply finished with failures: 0 pulled, 0 Kasm change(s) made, 1 failed.",
        "  ✗ kasm-update chrome: held: the pull of x",
      ],
    ],
    [
      "a group Kasm lacks",
      [ok],
      plan([
        {
          type: "kasm-group-add",
          workspace: "chrome",
          group: "testers",
          reason: "unknown-group",
          message: "Kasm has no group",
        },
      ]),
      [
        "Apply finished, not converged: 0 pulled, 1 Kasm change(s) made, 0 failed.",
        "  ! kasm-group-add chrome [unknown-group]: Kasm has no group",
      ],
    ],
    [
      "Kasm unread",
      [],
      plan([], true),
      [
        "Apply incomplete: 0 pulled, 0 failed.",
        "Not converged: 1 Kasm check failed (kasm: kasm-unreachable); fix the cause and apply again.",
      ],
    ],
    [
      "a promotion blocked as untested",
      [ok],
      plan(),
      [
        "Apply finished, not converged: 0 pulled, 1 Kasm change(s) made, 0 failed.",
        "Not converged: promotion of x blocked",
      ],
      ["promotion of x blocked"],
    ],
  ] as const)("%s", (_name, results, p, expected, blocking: readonly string[] = []) => {
    const text = applySummary([...results], p, blocking);
    for (const line of expected) expect(text).toContain(line);
  });
});

describe("terminalProgress", () => {
  const pull: PullAction = {
    type: "pull",
    agent: "agent-1",
    image: "registry.example.com:5000/kasm/chrome-with-a-long-name:20261120",
    workspaces: ["chrome"],
    reason: "missing",
  };
  const events: ExecutorEvent[] = [
    { type: "start", action: pull, attempt: 1, inFlight: 1, queued: 0 },
    {
      type: "progress",
      action: pull,
      progress: { layersDone: 1, layersTotal: 3, bytesDone: 512 << 20, bytesTotal: 1024 << 20 },
    },
    { type: "done", result: { action: pull, status: "ok", attempts: 1, durationMs: 1200 } },
  ];
  /** A terminal of `columns` (changed by `resize`) and TERM, recording what apply writes. */
  const terminal = (columns: number | undefined, term = "xterm") => {
    const out: string[] = [];
    let listener: (() => void) | undefined;
    let size = columns;
    const io: CliIo = {
      stdout: (text) => out.push(text),
      stderr: () => {},
      env: { TERM: term },
      cwd: "/",
      isTTY: true,
      columns: () => size,
      onResize: (l) => {
        listener = l;
        return () => {
          listener = undefined;
        };
      },
    };
    const resize = (to: number) => {
      size = to;
      listener?.();
    };
    return { io, out, resize, listening: () => listener !== undefined };
  };
  const visible = stripVTControlCharacters;

  it.each([
    [120, "xterm", "live"],
    [70, "xterm", "live"],
    [30, "xterm", "lines"],
    [120, "dumb", "lines"],
    [undefined, "xterm", "lines"],
  ] as const)("%s columns, TERM=%s: %s", (columns, term, mode) => {
    const t = terminal(columns, term);
    const progress = terminalProgress(t.io);
    for (const event of events) progress.onEvent(event);
    progress.close();
    const text = t.out.join("");
    if (mode === "live") {
      expect(text).toContain("\x1b[2K");
      for (const line of visible(text).split("\n")) expect([...line].length).toBeLessThan(columns!);
      expect(visible(text).trim().split("\n").at(-1)).toBe("  agent-1: 1 done, 0 failed, 0 queued");
    } else {
      expect(text.includes("\x1b")).toBe(false);
      expect(
        text
          .split("\n")
          .filter(Boolean)
          .map((l) => l.split(/\s+/)[0]),
      ).toEqual(["start", "done"]);
      expect(text).toContain("done    pull agent-1 registry.example.com:5000/kasm/chrome-with-a-long-name");
    }
    expect(t.listening()).toBe(false);
  });

  it("follows a resize: a fresh block fitted to the new width, line mode when too narrow, live again when wide", () => {
    const t = terminal(120);
    const progress = terminalProgress(t.io);
    progress.onEvent(events[0]!);
    t.resize(60);
    const afterNarrowing = t.out.length;
    // Never moves up over rows the terminal may have re-wrapped.
    expect(t.out.at(-1)!.startsWith("\x1b[2K")).toBe(true);
    for (const line of visible(t.out.slice(afterNarrowing - 1).join("")).split("\n"))
      expect(line.length).toBeLessThan(60);
    t.resize(30);
    progress.onEvent(events[1]!);
    progress.onEvent(events[2]!);
    expect(t.out.at(-1)).toMatch(/^done {4}pull agent-1 /);
    expect(t.out.slice(afterNarrowing).join("").includes("\x1b")).toBe(false);
    t.resize(100);
    expect(visible(t.out.at(-1)!)).toBe("  agent-1: 1 done, 0 failed, 0 queued\n");
    progress.close();
  });
});
