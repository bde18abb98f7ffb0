/** The README `import` writes beside the manifests: what is left to fill in before the first apply. */

import { KASM_KEY_ENV, KASM_SECRET_ENV } from "./names.js";
import type { ImportModel } from "./records.js";

const code = (text: string) => `\`${text.replaceAll("`", "'")}\``;

/** `1 registry`, `3 registries`: counts as a person writes them. */
export const counted = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** How to move from Kasm's agents pulling (as imported) to kasm-gitops pulling, and what that changes. */
function pullsSection(model: ImportModel): string[] {
  const carried = model.workspaces.filter((w) => w.held.length === 0 && w.registry).length;
  return [
    "## Who pulls: `pulls: kasm`, and moving to `pulls: kasm-gitops`",
    "",
    `${counted(carried, "adopted record carries", "adopted records carry")} a registry (Kasm's ${code("docker_registry")}), so Kasm's agents pull those images today, and ${code("kasm-server.yaml")} keeps that: ${code("pulls: kasm")}. Kasm's own form of the registry (${code("https://index.docker.io/v1/")}, ${code("https://host")}, ${code("host")}) is kept as it is.`,
    "",
    `To have kasm-gitops do every pull instead, describe every agent Kasm launches sessions on in ${code("agents.yaml")}, then write ${code("pulls: kasm-gitops")} in ${code("kasm-server.yaml")}. The next apply then:`,
    "",
    `- clears the registry fields of every managed record: ${code("docker_registry")}, and Kasm's registry user and token; Kasm's agents stop pulling;`,
    "- leaves every pull to kasm-gitops: each Workspace's image on the agents it selects, with the Registry's credentials from Git, a few at a time;",
    "- switches a record to a new image only once every agent it selects holds that image (the zero-downtime switch), so users never wait on a pull.",
    "",
    `Check the plan first: each such record shows ${code("dockerRegistry")}, ${code("dockerUser")} and ${code("dockerToken")} going to none. To go back, write ${code("pulls: kasm")}: the records get the Registry's host, user and token (from Git's secret) again.`,
  ];
}

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
      `${step++}. Set ${code(r.passwordEnv!)} to the password or token of ${code(r.host)}${r.username ? ` for user ${code(r.username)}` : ""} (Registry ${code(r.name)}); Kasm shows it masked, so it was not copied. The first apply keeps the token Kasm holds and records a fingerprint of this secret; only a later change of the secret writes it to the records.`,
    );
  lines.push(
    model.agents
      ? `${step++}. Set the Docker address of each Agent in ${code("agents.yaml")} (${code("spec.docker.host")}, a placeholder now): import wrote one per Kasm agent (${model.agents.length}), naming its Kasm agent and zone (${code("spec.kasm")}) and labelled with the zone; a workspace Kasm restricts to a zone or an agent selects those Agents, the others say ${code("kasm.placement: any")} (Kasm may launch them on any agent).`
      : `${step++}. Describe your agents (Kasm's Docker hosts) in ${code("agents.yaml")}: the template there is commented out${model.agentsUnread ? `, since Kasm did not let this API key view its agents (${model.agentsUnread}); with a key that may view agents, import writes one Agent per Kasm agent` : ""}.`,
    `${step++}. Review the configs (${code("runConfig")}, ${code("execConfig")}, ${code("volumeMappings")}) before you commit: Kasm keeps whatever was typed there, and Git is no place for a password.`,
    `${step++}. Check the repo with ${code("kasm-gitops validate .")}, commit it, then run ${code("kasm-gitops plan")}: the first apply only adds the ${code("managed-by: kasm-gitops/<workspace>")} line to each adopted record's notes; the plan after it says ${code("No changes.")}`,
  );
  if (model.pulls === "kasm") lines.push("", ...pullsSection(model));
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
