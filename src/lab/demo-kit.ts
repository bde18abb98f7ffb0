/** What the demo's acts share: its voice, its git, and the lab's Kasm stand-in seen from outside. */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { KasmState } from "./kasm-records.js";
import type { Lab } from "./lab.js";

const exec = promisify(execFile);
/** Bold only on a terminal, and never with NO_COLOR set: piped output stays plain text. */
const bold = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR && process.env.TERM !== "dumb";
export const say = (text: string) =>
  process.stdout.write(bold ? `\n\x1b[1m==> ${text}\x1b[0m\n` : `\n==> ${text}\n`);

/** git as the fleet's administrator. */
export async function git(cwd: string, ...args: string[]) {
  const env = { ...process.env, GIT_AUTHOR_NAME: "Kasm admin", GIT_AUTHOR_EMAIL: "admin@example.invalid" };
  const full = { ...env, GIT_COMMITTER_NAME: env.GIT_AUTHOR_NAME, GIT_COMMITTER_EMAIL: env.GIT_AUTHOR_EMAIL };
  return (await exec("git", args, { cwd, env: full })).stdout.trim();
}

/** Commits every change in the demo's repo, as its administrator. */
export const commitAll = (repoDir: string, message: string) =>
  git(repoDir, "commit", "--quiet", "--all", "-m", message);

/** The lab's Kasm stand-in, through its loopback admin endpoints (the stand-in runs as its own process). */
export async function labKasm(lab: Lab, path: string, body?: unknown): Promise<KasmState> {
  const response = await fetch(`${lab.kasm.url}/__lab${path}`, {
    method: body === undefined ? "GET" : "POST",
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`Kasm stand-in ${path}: HTTP ${response.status}`);
  return (await response.json()) as KasmState;
}

/** What users see in Kasm: each record, its image, and its groups. */
export async function showRecords(lab: Lab) {
  const state = await labKasm(lab, "/state");
  for (const image of [...state.images].sort((a, b) =>
    (a.friendly_name ?? "").localeCompare(b.friendly_name ?? ""),
  )) {
    const groups = state.groupImages
      .filter((row) => row.image_id === image.image_id)
      .map((row) => state.groups.find((g) => g.group_id === row.group_id)?.name);
    const flags = image.enabled ? "" : " (disabled)";
    process.stdout.write(
      `  ${(image.friendly_name ?? "").padEnd(18)} ${image.name}${flags}  groups: ${groups.join(", ") || "-"}\n`,
    );
  }
}
