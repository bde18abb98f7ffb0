/** What a command may touch of the outside world; tests pass their own to capture output. */
export type CliIo = {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Colour and live progress only on a terminal. */
  isTTY: boolean;
  /** Whether stderr (where logs go) is a terminal: pretty logs are coloured only there. */
  stderrTTY?: boolean;
  /** The terminal's width in columns, read at each redraw; undefined when unknown (not a terminal). */
  columns?: () => number | undefined;
  /** Calls `listener` when the terminal is resized (SIGWINCH); returns how to stop. */
  onResize?: (listener: () => void) => () => void;
  /** Resolves when the process is asked to stop (SIGTERM/SIGINT); the daemon drains then. */
  stopSignal?: AbortSignal;
};

/** Colour on a terminal unless NO_COLOR is set (no-color.org), as people who set it expect everywhere. */
export const useColor = (io: CliIo): boolean => io.isTTY && !io.env.NO_COLOR;
