import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.js";
import { prettyLine } from "./pretty-log.js";

const time = Date.UTC(2026, 10, 30, 17, 20, 1, 123);
const base = { time, name: "kasm-gitops" };

describe("prettyLine", () => {
  it.each([
    [
      "operator fields first, in a fixed order, then the rest as the record has them",
      {
        ...base,
        level: 30,
        msg: "pull done",
        ms: 812,
        image: "r:5000/kasm/chrome:1.2",
        cycle: 3,
        agent: "a1",
        workspace: "chrome",
      },
      "2026-11-30T17:20:01.123Z INFO  pull done agent=a1 workspace=chrome image=r:5000/kasm/chrome:1.2 cycle=3 ms=812",
    ],
    [
      "values with spaces, quotes or line breaks quoted as JSON, objects as JSON",
      { ...base, level: 40, msg: "degraded", reasons: ["a b"], note: 'say "hi"\nagain', ok: false },
      '2026-11-30T17:20:01.123Z WARN  degraded reasons=["a b"] note="say \\"hi\\"\\nagain" ok=false',
    ],
    [
      "an error by its message, the message on one line",
      {
        ...base,
        level: 50,
        msg: "cycle\nfailed",
        cycle: 7,
        err: { type: "Error", message: "boom: no", stack: "Error: boom\n at x" },
      },
      '2026-11-30T17:20:01.123Z ERROR cycle failed cycle=7 err="boom: no"',
    ],
    [
      "an empty string is visible",
      { ...base, level: 20, msg: "x", revision: "" },
      '2026-11-30T17:20:01.123Z DEBUG x revision=""',
    ],
  ])("%s", (_name, record, line) => {
    expect(prettyLine(record, false)).toBe(`${line}\n`);
  });

  it.each([
    [30, "\u001b[32mINFO \u001b[0m"],
    [50, "\u001b[31mERROR\u001b[0m"],
  ])("colours level %d only when asked", (level, label) => {
    expect(prettyLine({ ...base, level, msg: "m" }, true)).toContain(label);
    expect(prettyLine({ ...base, level, msg: "m" }, false)).not.toContain("\u001b");
  });
});

describe("createLogger --log-format pretty", () => {
  it("writes one line per record, with credentials redacted as in JSON", async () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on("data", (c: Buffer) => chunks.push(c));
    const logger = createLogger("info", { format: "pretty", destination: out });
    logger.info({ agent: "a1", registry: { token: "S3CRET-1" } }, "first");
    logger.warn({ password: "S3CRET-2" }, "second");
    await new Promise((resolve) => setImmediate(resolve));
    const lines = Buffer.concat(chunks).toString("utf8").trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^\d{4}-\d\d-\d\dT[\d:.]+Z INFO {2}first agent=a1 registry=\{"token":"\[redacted\]"\}$/,
    );
    expect(lines[1]).toMatch(/ WARN {2}second password=\[redacted\]$/);
    expect(lines.join("\n")).not.toMatch(/S3CRET/);
  });
});
