import type { CliIo } from "./io.js";

/** The real process as a CliIo: its streams, environment, folder, and the terminal's width and resizes. */
export function processIo(overrides: Partial<CliIo> = {}): CliIo {
  const out = process.stdout;
  return {
    stdout: (text) => out.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
    isTTY: Boolean(out.isTTY),
    stderrTTY: Boolean(process.stderr.isTTY),
    // Node keeps `columns` current on SIGWINCH and emits 'resize' then; both exist only on a terminal.
    columns: () => (out.isTTY ? out.columns || undefined : undefined),
    onResize: (listener) => {
      out.on("resize", listener);
      return () => out.off("resize", listener);
    },
    ...overrides,
  };
}
