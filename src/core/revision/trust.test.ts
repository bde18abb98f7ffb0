import { describe, expect, it } from "vitest";
import {
  allowedSignersProblems,
  errsigFingerprint,
  judgeSignature,
  type SignatureReport,
  type TrustVerdict,
  untrustedMessage,
} from "./trust.js";

const FPR = "5DA8CA34334FE647350D6486550ED877D49355A8";
const SSH = "SHA256:561SBiQvJFIHo7F0bcI2Po0xw4AJ6Hx+laguqBNIlWg";
const report = (status: string, extra: Partial<SignatureReport> = {}): SignatureReport => ({
  status,
  fingerprint: "",
  primaryFingerprint: "",
  keyId: "",
  signer: "",
  raw: "",
  ...extra,
});

describe("judgeSignature", () => {
  it.each<[string, SignatureReport, TrustVerdict]>([
    [
      "good OpenPGP, primary key named",
      report("G", { fingerprint: "AB".repeat(20), primaryFingerprint: FPR, signer: "Bob <b@x>" }),
      { trusted: true, key: FPR, signer: "Bob <b@x>" },
    ],
    [
      "good SSH by a listed principal",
      report("G", { fingerprint: SSH, keyId: SSH, signer: "alice@x" }),
      { trusted: true, key: SSH, signer: "alice@x" },
    ],
    [
      "G without any key is not trusted",
      report("G"),
      { trusted: false, reason: "cannot-check", detail: 'git reported signature status "G"' },
    ],
    [
      "unsigned",
      report("N"),
      { trusted: false, reason: "unsigned", detail: "the commit carries no signature git can check" },
    ],
    [
      "SSH key not listed",
      report("U", { fingerprint: SSH }),
      expect.objectContaining({ trusted: false, reason: "unknown-key", key: SSH }),
    ],
    [
      "SSH key listed with a valid-before that passed before the commit",
      report("U", {
        fingerprint: SSH,
        raw: 'Good "git" signature with ED25519 key x\n/etc/allowed:3: key has expired: verify time 2026-12-06T22:19:52 > valid-before 2020-01-01T00:00:00\nNo principal matched.\n',
      }),
      {
        trusted: false,
        reason: "expired-key",
        key: SSH,
        detail:
          "the key is listed, but had expired when the commit was made (/etc/allowed:3: verify time 2026-12-06T22:19:52 > valid-before 2020-01-01T00:00:00)",
      },
    ],
    [
      "SSH key listed with a valid-after still ahead at the commit",
      report("U", {
        fingerprint: SSH,
        raw: "/etc/allowed:1: key is not yet valid: verify time 2026-12-06T22:19:52 < valid-after 2099-01-01T00:00:00\n",
      }),
      expect.objectContaining({
        reason: "unknown-key",
        detail: expect.stringContaining(
          "was not yet valid when the commit was made (/etc/allowed:1: verify time",
        ),
      }),
    ],
    ["bad", report("B", { keyId: "550ED877D49355A8" }), expect.objectContaining({ reason: "bad-signature" })],
    ["expired key", report("Y", { fingerprint: FPR }), expect.objectContaining({ reason: "expired-key" })],
    [
      "expired signature",
      report("X", { fingerprint: FPR }),
      expect.objectContaining({ reason: "expired-signature" }),
    ],
    ["revoked key", report("R", { fingerprint: FPR }), expect.objectContaining({ reason: "revoked-key" })],
    [
      "OpenPGP key missing, fingerprint known",
      report("E", { fingerprint: FPR, keyId: "550ED877D49355A8" }),
      expect.objectContaining({ reason: "unknown-key", key: FPR }),
    ],
    [
      "E with no key at all: gpg itself failed",
      report("E", { raw: "error: cannot run gpg: No such file or directory\n" }),
      {
        trusted: false,
        reason: "cannot-check",
        detail: "git could not check the signature: cannot run gpg: No such file or directory",
      },
    ],
    [
      "an unknown status",
      report("Z", { fingerprint: FPR }),
      expect.objectContaining({ reason: "cannot-check" }),
    ],
  ])("%s", (_, input, expected) => {
    expect(judgeSignature(input)).toEqual(expected);
  });
});

describe("untrustedMessage", () => {
  it.each<[TrustVerdict & { trusted: false }, string]>([
    [
      { trusted: false, reason: "unknown-key", key: SSH, signer: "m@x", detail: "not listed" },
      `commit abc (tip of main) is not trusted by key ${SSH} (m@x): not listed [unknown-key]`,
    ],
    [
      { trusted: false, reason: "unsigned", detail: "no signature" },
      "commit abc (tip of main) is not trusted: no signature [unsigned]",
    ],
  ])("names commit, key and reason (%#)", (verdict, message) => {
    expect(untrustedMessage("abc", "main", verdict)).toBe(message);
  });
});

describe("errsigFingerprint", () => {
  it.each<[string, string | undefined]>([
    [`[GNUPG:] NEWSIG\n[GNUPG:] ERRSIG 0F505B215F3BFB5A 22 10 00 1796051093 9 ${FPR}\n`, FPR],
    ["[GNUPG:] ERRSIG 0F505B215F3BFB5A 22 10 00 1796051093 9 -\n", undefined],
    ["[GNUPG:] GOODSIG 0F505B215F3BFB5A Bob\n", undefined],
    ["", undefined],
  ])("%j", (lines, expected) => {
    expect(errsigFingerprint(lines)).toBe(expected);
  });
});

describe("allowedSignersProblems", () => {
  const key = "alice@x ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILzhRDNpKV7oxNwtW1HYY5bwh92fldjh89zF+pPg/sNn";
  it.each<[string, string, string, string[]]>([
    ["a good file", `${key}\n`, "No principal matched.\n", []],
    // ssh-keygen complains about blank lines, then skips them.
    [
      "blank lines and comments",
      `\n# c\n   \n${key}\n`,
      "/f:1: missing key\r\n/f:3: missing key\r\nNo principal matched.\n",
      [],
    ],
    ["a bad key line", `${key}\nbob@x ssh-ed25519 AAAA\n`, "/f:2: invalid key\r\n", ["line 2: invalid key"]],
    ["no key", "# nobody\n", "No principal matched.\n", ["it lists no key"]],
    ["another file's complaint is not ours", `${key}\n`, "/other:1: invalid key\n", []],
  ])("%s", (_, text, stderr, expected) => {
    expect(allowedSignersProblems(text, "/f", stderr)).toEqual(expected);
  });
});
