import { describe, expect, it } from "vitest";
import { KasmGitopsError } from "../core/errors.js";
import { durationFlag, kasmOnlyFlags, logFlags, trustFlags } from "./flags.js";
import type { CliIo } from "./io.js";

const io: CliIo = { stdout: () => {}, stderr: () => {}, env: {}, cwd: "/work", isTTY: false };
const args = (values: Record<string, string>) => ({ values, positionals: [] });

describe("trustFlags", () => {
  it.each<[string, Record<string, string>, ReturnType<typeof trustFlags>]>([
    ["nothing asked", {}, undefined],
    [
      "ssh, path made absolute",
      { "verify-commits": "ssh", "allowed-signers": "keys/allowed" },
      { mode: "ssh", file: "/work/keys/allowed" },
    ],
    [
      "openpgp",
      { "verify-commits": "openpgp", "trusted-keys": "/etc/k.asc" },
      { mode: "openpgp", file: "/etc/k.asc" },
    ],
  ])("%s", (_, values, expected) => {
    expect(trustFlags(args(values), io)).toEqual(expected);
  });

  it.each<[Record<string, string>, string]>([
    [{ "allowed-signers": "a" }, "--allowed-signers needs --verify-commits ssh"],
    [{ "trusted-keys": "k" }, "--trusted-keys needs --verify-commits openpgp"],
    [{ "verify-commits": "x509" }, "--verify-commits x509: use ssh or openpgp"],
    [{ "verify-commits": "ssh" }, "--verify-commits ssh needs --allowed-signers FILE"],
    [
      { "verify-commits": "ssh", "allowed-signers": "a", "trusted-keys": "k" },
      "--trusted-keys is for --verify-commits openpgp, not ssh",
    ],
  ])("refuses %j as a usage error", (values, message) => {
    const error = (() => {
      try {
        trustFlags(args(values), io);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(KasmGitopsError);
    expect(error).toMatchObject({ code: "usage" });
    expect((error as Error).message).toContain(message);
  });
});

describe("kasmOnlyFlags: the Kasm syncer's flags", () => {
  const parsed = (values: Record<string, string | boolean | string[]>) => ({ values, positionals: [] });
  it.each<[string, Record<string, string | boolean | string[]>, ReturnType<typeof kasmOnlyFlags>]>([
    ["not asked", {}, undefined],
    ["--kasm-only, the default bound", { "kasm-only": true }, {}],
    ["with a bound", { "kasm-only": true, "kasm-report-max-age": "90s" }, { reportMaxAgeMs: 90_000 }],
  ])("%s", (_name, values, expected) => {
    expect(kasmOnlyFlags(parsed(values))).toEqual(expected);
  });
  it.each<[Record<string, string | boolean | string[]>, RegExp]>([
    [{ "kasm-only": true, agent: ["a1"] }, /--kasm-only and --agent exclude each other/],
    [{ "kasm-report-max-age": "1m" }, /--kasm-report-max-age is for --kasm-only/],
    [{ "kasm-only": true, "kasm-report-max-age": "soon" }, /--kasm-report-max-age soon is not a duration/],
  ])("refuses %j as a usage error", (values, message) => {
    expect(() => kasmOnlyFlags(parsed(values))).toThrow(message);
  });
});

describe("durationFlag", () => {
  it.each<[string, string | undefined, number | undefined]>([
    ["absent", undefined, undefined],
    ["seconds", "30s", 30_000],
    ["minutes", "2m", 120_000],
    ["an hour", "1h", 3_600_000],
  ])("%s", (_name, value, ms) => {
    expect(durationFlag("interval", value)).toBe(ms);
  });

  it.each(["500ms", "0s", "soon", "30"])("%s is a usage error naming the flag", (value) => {
    expect(() => durationFlag("grace", value)).toThrow(
      new KasmGitopsError("usage", `--grace ${value} is not a duration of at least 1s, like 30s, 2m or 1h`),
    );
  });
});

describe("logFlags", () => {
  it.each<[string, Record<string, string>, { logLevel: string; logFormat: string } | RegExp]>([
    ["the defaults", {}, { logLevel: "info", logFormat: "json" }],
    [
      "debug, pretty",
      { "log-level": "debug", "log-format": "pretty" },
      { logLevel: "debug", logFormat: "pretty" },
    ],
    ["a misspelt level", { "log-level": "debgu" }, /--log-level debgu.*debug/],
  ])("%s", (_name, values, expected) => {
    if (expected instanceof RegExp) expect(() => logFlags(args(values))).toThrow(expected);
    else expect(logFlags(args(values))).toEqual(expected);
  });
});
