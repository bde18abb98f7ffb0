/**
 * Trust in a revision: what git's own signature check of the tip commit means for kasm-gitops. Git and
 * gpg/ssh-keygen do the cryptography; this file only reads their verdicts (`%G?` and friends).
 */

/** How commits are verified: SSH signatures against an allowed-signers file, or OpenPGP against exported keys. */
export type VerifyMode = "ssh" | "openpgp";
export const VERIFY_MODES: readonly VerifyMode[] = ["ssh", "openpgp"];

/** Why a tip commit is not trusted. */
export type UntrustedReason =
  | "unsigned"
  | "bad-signature"
  | "unknown-key"
  | "expired-signature"
  | "expired-key"
  | "revoked-key"
  | "cannot-check";

/** Git's report on one commit's signature (`git log --format=%G?…`), as git printed it. */
export type SignatureReport = {
  /** `%G?`: G good and trusted, B bad, U good but untrusted key, X/Y/R expired/expired key/revoked, E cannot check, N none. */
  status: string;
  /** `%GF` (or the fingerprint gpg named when it could not check), `%GP`, `%GK`, `%GS`. */
  fingerprint: string;
  primaryFingerprint: string;
  keyId: string;
  signer: string;
  /** `%GG`: the verifier's own words, for the log. */
  raw: string;
};

export type TrustVerdict =
  | { trusted: true; key: string; signer?: string }
  | { trusted: false; reason: UntrustedReason; key?: string; signer?: string; detail: string };

const REASONS: Record<string, { reason: UntrustedReason; detail: string }> = {
  N: { reason: "unsigned", detail: "the commit carries no signature git can check" },
  B: { reason: "bad-signature", detail: "the signature does not match the commit (changed after signing?)" },
  U: { reason: "unknown-key", detail: "good signature, but by a key that is not listed as trusted" },
  X: { reason: "expired-signature", detail: "the signature has expired" },
  Y: { reason: "expired-key", detail: "the signature was made by a key that has expired" },
  R: { reason: "revoked-key", detail: "the signature was made by a revoked key" },
  E: {
    reason: "unknown-key",
    detail: "the signature cannot be checked: its key is not among the trusted keys",
  },
};

/** Only `G` is trusted: git reports it for a good signature by a listed key (SSH) or a trusted one (OpenPGP). */
export function judgeSignature(report: SignatureReport): TrustVerdict {
  const key = report.primaryFingerprint || report.fingerprint || report.keyId;
  const signer = report.signer || undefined;
  const who = { ...(key ? { key } : {}), ...(signer ? { signer } : {}) };
  if (report.status === "G" && key) return { trusted: true, key, ...(signer ? { signer } : {}) };
  const known = REASONS[report.status];
  if (report.status === "E" && !key) {
    const said = firstLine(report.raw);
    return {
      trusted: false,
      reason: "cannot-check",
      detail: `git could not check the signature${said ? `: ${said}` : ""}`,
    };
  }
  if (!known) {
    return {
      trusted: false,
      reason: "cannot-check",
      detail: `git reported signature status "${report.status}"`,
      ...who,
    };
  }
  if (report.status === "U") {
    const validity = sshKeyValidity(report.raw);
    if (validity) return { trusted: false, ...validity, ...who };
  }
  return { trusted: false, ...known, ...who };
}

/**
 * ssh-keygen finds the key listed, but outside its `valid-before`/`valid-after` window at the commit's time
 * (`FILE:LINE: key has expired: verify time … > valid-before …`); git then reports `U` as for an unlisted key.
 */
export function sshKeyValidity(raw: string): { reason: UntrustedReason; detail: string } | undefined {
  const expired = /^(.*?:\d+): key has expired: (.*)$/m.exec(raw);
  if (expired) {
    return {
      reason: "expired-key",
      detail: `the key is listed, but had expired when the commit was made (${expired[1]}: ${expired[2]!.trim()})`,
    };
  }
  const early = /^(.*?:\d+): key is not yet valid: (.*)$/m.exec(raw);
  if (early) {
    return {
      reason: "unknown-key",
      detail: `the key is listed, but was not yet valid when the commit was made (${early[1]}: ${early[2]!.trim()})`,
    };
  }
  return undefined;
}

function firstLine(text: string): string {
  return (
    text
      .split("\n")
      .map((line) => line.replace(/^(gpg|error|fatal):\s*/, "").trim())
      .find((line) => line !== "") ?? ""
  );
}

/** One sentence naming the commit, the key and why, for `plan`/`apply` and the daemon's refusal. */
export function untrustedMessage(
  revision: string,
  branch: string,
  verdict: TrustVerdict & { trusted: false },
) {
  const key = verdict.key ? ` by key ${verdict.key}${verdict.signer ? ` (${verdict.signer})` : ""}` : "";
  return `commit ${revision} (tip of ${branch}) is not trusted${key}: ${verdict.detail} [${verdict.reason}]`;
}

/**
 * The fingerprint gpg names in its `ERRSIG` status line (`[GNUPG:] ERRSIG keyid algo hash class time rc fpr`),
 * which git does not pass on when the key is missing.
 */
export function errsigFingerprint(statusLines: string): string | undefined {
  for (const line of statusLines.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields[0] === "[GNUPG:]" && fields[1] === "ERRSIG" && /^[0-9A-F]{32,64}$/i.test(fields[8] ?? "")) {
      return fields[8]!.toUpperCase();
    }
  }
  return undefined;
}

/** Lines that name a key in an allowed-signers file: not blank, not a comment. */
export function allowedSignerLines(text: string): number[] {
  const lines: number[] = [];
  text.split("\n").forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed !== "" && !trimmed.startsWith("#")) lines.push(index + 1);
  });
  return lines;
}

/**
 * What is wrong with an allowed-signers file, from ssh-keygen's complaints (`FILE:LINE: message`) while it read
 * every line. ssh-keygen also complains about blank lines, which it then skips; those are not problems.
 */
export function allowedSignersProblems(text: string, file: string, sshKeygenStderr: string): string[] {
  const keyLines = new Set(allowedSignerLines(text));
  const problems: string[] = [];
  for (const line of sshKeygenStderr.split(/\r?\n/)) {
    if (!line.startsWith(`${file}:`)) continue;
    const match = /^:(\d+):\s*(.*)$/.exec(line.slice(file.length));
    if (!match) continue;
    if (keyLines.has(Number(match[1]))) problems.push(`line ${match[1]}: ${match[2]}`);
  }
  if (problems.length === 0 && keyLines.size === 0) problems.push("it lists no key");
  return problems;
}
