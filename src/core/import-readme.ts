/** The README `import` writes beside the manifests: what is left to fill in before the first apply. */

import { KASM_KEY_ENV, KASM_SECRET_ENV } from "./import-names.js";
import type { ImportModel } from "./import-records.js";

const code = (text: string) => `\`${text.replaceAll("`", "'")}\``;

/** `1 registry`, `3 registries`: counts as a person writes them. */
export const counted = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

export function importReadme(
  url: string,
  model: ImportModel,
  unreadable: readonly { imageId: string; reason: string }[],
): string {
  const adopted = model.workspaces.filter((w) => w.held.length === 0);
  const held = model.workspaces.filter((w) => w.held.length > 0);
  const noted = adopted.filter((w) => w.notes.length > 0);
  const secrets = model.registries.filter((r) => r.passwordEnv);
  const lines = [
    "# Kasm manifests imported by kasm-gitops",
    "",
    `Imported from ${url}: ${counted(model.workspaces.length, "record", "records")}, ${adopted.length} adopted as Workspaces, ${held.length} held back; ${counted(model.registries.length, "registry", "registries")}.`,
    "",
    "## Left to fill in",
    "",
    `1. Set the Kasm API key where kasm-gitops runs: ${code(KASM_KEY_ENV)} and ${code(KASM_SECRET_ENV)} (see ${code("kasm-server.yaml")}).`,
  ];
  let step = 2;
  for (const r of secrets)
    lines.push(
      `${step++}. Set ${code(r.passwordEnv!)} to the password or token of ${code(r.host)}${r.username ? ` for user ${code(r.username)}` : ""} (Registry ${code(r.name)}); Kasm shows it masked, so it was not copied.`,
    );
  lines.push(
    `${step++}. Describe your agents (Kasm's Docker hosts) in ${code("agents.yaml")}: the template there is commented out.`,
    `${step++}. Review the configs (${code("runConfig")}, ${code("execConfig")}, ${code("volumeMappings")}) before you commit: Kasm keeps whatever was typed there, and Git is no place for a password.`,
    `${step++}. Check the repo with ${code("kasm-gitops validate .")}, commit it, then run ${code("kasm-gitops plan")}: the first apply only adds the ${code("managed-by: kasm-gitops/<workspace>")} line to each adopted record's notes; the plan after it says ${code("No changes.")}`,
  );
  if (held.length > 0) {
    lines.push(
      "",
      "## Held back",
      "",
      "These records cannot be adopted as they are: their file is written with the document commented out and the reason on top. Kasm keeps them untouched until you fix and uncomment them.",
      "",
    );
    for (const w of held)
      lines.push(
        `- ${code(`workspaces/${w.name}.yaml`)} (${code(w.record.imageId)}, ${JSON.stringify(w.record.friendlyName)}): ${w.held.join("; ")}`,
      );
  }
  if (noted.length > 0) {
    lines.push("", "## Worth a look", "");
    for (const w of noted) lines.push(`- ${code(`workspaces/${w.name}.yaml`)}: ${w.notes.join("; ")}`);
  }
  if (unreadable.length > 0) {
    lines.push("", "## Not imported", "", "Kasm answered these records in a form import cannot read:", "");
    for (const u of unreadable) lines.push(`- ${code(u.imageId)}: ${u.reason}`);
  }
  return `${lines.join("\n")}\n`;
}
