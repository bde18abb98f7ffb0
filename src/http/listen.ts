import { KasmGitopsError } from "../core/errors.js";

export type ListenAddress = { host: string; port: number };

/** Parses `--listen HOST:PORT` (`0.0.0.0:8080`, `[::]:8080`, `:8080` = every interface, port 0 = any free). */
export function parseListen(listen: string): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(listen.trim());
  const port = match ? Number(match[3]) : Number.NaN;
  if (!match || port > 65535) {
    throw new KasmGitopsError(
      "usage",
      `--listen ${JSON.stringify(listen)} is not HOST:PORT (examples: 0.0.0.0:8080, 127.0.0.1:9090, [::]:8080)`,
      { listen },
    );
  }
  const host = match[1] ?? match[2] ?? "";
  return { host: host === "" ? "0.0.0.0" : host, port };
}
