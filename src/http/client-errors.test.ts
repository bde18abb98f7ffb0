import { describe, expect, it } from "vitest";
import { type ClientErrorKind, createClientErrorTally } from "./client-errors.js";

describe("createClientErrorTally", () => {
  it.each<[string, [number, ClientErrorKind][], number, number[]]>([
    ["one abort: seen at once", [[0, "aborted"]], 1, [1]],
    [
      "a flood within one window: one summary, then the rest on flush",
      [
        [0, "aborted"],
        [1, "aborted"],
        [2, "malformed"],
      ],
      3,
      [1, 2],
    ],
    [
      "one summary per window",
      [
        [0, "aborted"],
        [10, "aborted"],
        [30_000, "aborted"],
        [30_001, "malformed"],
      ],
      4,
      [1, 2, 1],
    ],
  ])("%s", (_, events, debugLines, summaries) => {
    const debug: unknown[] = [];
    const warn: number[] = [];
    let time = 0;
    const tally = createClientErrorTally(
      {
        debug: (...args: unknown[]) => debug.push(args),
        warn: ((fields: { aborted: number; malformed: number }) =>
          warn.push(fields.aborted + fields.malformed)) as never,
      } as never,
      () => time,
    );
    for (const [at, kind] of events) {
      time = at;
      tally.add(kind, {});
    }
    tally.flush();
    expect(debug).toHaveLength(debugLines);
    expect(warn).toEqual(summaries);
  });
});
