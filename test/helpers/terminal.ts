import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { BIN } from "./cli.js";

const exec = promisify(execFile);
const quote = (word: string) => `'${word.replace(/'/g, "'\\''")}'`;

/**
 * Runs the built CLI under a real pseudo-terminal (util-linux `script`) of `columns` columns; stdout and
 * stderr both reach the terminal, as for a person at it. Resolves with the exit code and what it showed.
 */
export async function inTerminal(args: string[], columns: number, env: Record<string, string> = {}) {
  const command = `stty cols ${columns} rows 50 && exec ${[process.execPath, BIN, ...args].map(quote).join(" ")}`;
  try {
    const { stdout } = await exec("script", ["--quiet", "--return", "--command", command, "/dev/null"], {
      env: { ...process.env, TERM: "xterm", ...env },
      maxBuffer: 16 << 20,
    });
    return { code: 0, output: stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string };
    return { code: e.code, output: e.stdout };
  }
}
