/**
 * The files `import` writes, as text: Workspaces, Registries, the KasmServer and an Agent template, built
 * with yaml's Document API so comments sit where they belong and the output is stable, byte for byte.
 */
import { Document, type Pair, type YAMLMap } from "yaml";
import { manifestFields } from "../kasm/record-fields.js";
import { formatMemoryQuantity } from "../manifest/quantity.js";
import { API_VERSION } from "../manifest/types.js";
import type { ImportAgentsRead } from "./agents.js";
import { agentsFile } from "./agents-file.js";
import { KASM_KEY_ENV, KASM_SECRET_ENV } from "./names.js";
import { importReadme } from "./readme.js";
import {
  type ImportedRegistry,
  type ImportedWorkspace,
  type ImportGroup,
  type ImportMembership,
  type ImportModel,
  type ImportRecord,
  modelImport,
} from "./records.js";

export type ImportFile = { path: string; text: string };

export type ImportInput = {
  /** The Kasm web app, as the KasmServer will name it. */
  url: string;
  /** Where the Kasm CA was read from, for the KasmServer's tls.ca; absent for a publicly trusted one. */
  caFile?: string;
  records: readonly ImportRecord[];
  groups: readonly ImportGroup[];
  memberships: readonly ImportMembership[];
  /** Records Kasm answered in a form that cannot be read at all, with why. */
  unreadable?: readonly { imageId: string; reason: string }[];
  /** Kasm's agents and zones, or why the key could not read them (absent: not asked). */
  agents?: ImportAgentsRead;
};

export type ImportOutput = { files: ImportFile[]; model: ImportModel };

const WIDTH = 100;

/** Comment text wrapped to the page, one leading space per line as yaml writes `# text`. */
export function wrap(text: string, width = WIDTH): string {
  const lines: string[] = [];
  for (const paragraph of text.split("\n")) {
    let line = "";
    // A list item's later lines hang under its text.
    const indent = paragraph.startsWith("- ") ? "  " : "";
    for (const word of paragraph.split(" ")) {
      if (line.trim() && line.length + 1 + word.length > width - 2) {
        lines.push(line);
        line = `${indent}${word}`;
      } else line = line ? `${line} ${word}` : word;
    }
    lines.push(line);
  }
  return lines.map((l) => (l ? ` ${l}` : "")).join("\n");
}

const render = (doc: Document) => doc.toString({ lineWidth: 0 });

/** A document's text with every line commented out: kept for the operator, invisible to validate. */
const commentedOut = (text: string) =>
  text
    .trimEnd()
    .split("\n")
    .map((l) => `# ${l}`.trimEnd())
    .join("\n");

/** The map under `key` of a document or map built from plain objects. */
const mapAt = (node: Document | YAMLMap, key: string) => node.get(key, true) as unknown as YAMLMap;

/** Sets a map's pair in flow style (`{ env: X }`) for short references and labels. */
function flow(map: YAMLMap, key: string): void {
  const node = map.get(key, true) as unknown as YAMLMap | undefined;
  if (node) node.flow = true;
}

function pairOf(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((p) => (p.key as { value?: unknown })?.value === key) as Pair | undefined;
}

/** A comment above a key of `spec`, wrapped so the indented lines still fit the page. */
function comment(map: YAMLMap, key: string, text: string): void {
  const pair = pairOf(map, key);
  if (pair) (pair.key as { commentBefore?: string }).commentBefore = wrap(text, WIDTH - 2);
}

/** The Workspace of one record; held ones come back commented out, with the reasons first. */
export function workspaceFile(w: ImportedWorkspace): ImportFile {
  const r = w.record;
  const memory = formatMemoryQuantity(r.memory);
  const kasm = {
    imageId: r.imageId,
    description: r.description,
    thumbnail: r.thumbnail,
    categories: [...new Set(r.categories)],
    ...(r.cores > 0 ? { cores: r.cores } : {}),
    ...(memory ? { memory } : {}),
    hidden: r.hidden,
    runConfig: r.runConfig,
    execConfig: r.execConfig,
    volumeMappings: r.volumeMappings,
    ...manifestFields(r).kasm,
    ...(w.placementAny ? { placement: "any" } : {}),
  };
  const spec = {
    friendlyName: r.friendlyName,
    image: r.name,
    ...(w.registry ? { registry: w.registry.name } : {}),
    ...(w.selector ? { agents: { matchLabels: w.selector } } : {}),
    groups: w.groups,
    enabled: r.enabled,
    kasm,
  };
  const doc = new Document({ apiVersion: API_VERSION, kind: "Workspace", metadata: { name: w.name }, spec });
  const specMap = mapAt(doc, "spec");
  comment(specMap, "kasm", "Kasm's record: Git owns these fields; kasm.imageId adopts the existing record.");
  if (w.selector) {
    flow(mapAt(specMap, "agents"), "matchLabels");
    comment(
      specMap,
      "agents",
      "The Agents Kasm restricts this record to: kasm-gitops keeps it restricted to them.",
    );
  }
  if (!r.enabled)
    comment(specMap, "enabled", "Disabled in Kasm: kept disabled, and its image is not pulled.");
  const head = [
    `Imported from Kasm record ${r.imageId} (${JSON.stringify(r.friendlyName)}).`,
    ...w.notes.map((note) => `- ${note}`),
  ].join("\n");
  const path = `workspaces/${w.name}.yaml`;
  if (w.held.length === 0) {
    doc.commentBefore = wrap(head);
    return { path, text: render(doc) };
  }
  const why = [
    head,
    "HELD BACK: this document is commented out, so apply leaves the record alone, until you fix what follows and uncomment it:",
    ...w.held.map((reason) => `- ${reason}`),
  ].join("\n");
  return { path, text: `#${wrap(why).split("\n").join("\n#")}\n#\n${commentedOut(render(doc))}\n` };
}

export function registryFile(registry: ImportedRegistry): ImportFile {
  const spec: Record<string, unknown> = { host: registry.host };
  if (registry.insecure) spec.insecure = true;
  if (registry.passwordEnv)
    spec.auth = {
      ...(registry.username !== undefined ? { username: registry.username } : {}),
      password: { env: registry.passwordEnv },
    };
  const doc = new Document({
    apiVersion: API_VERSION,
    kind: "Registry",
    metadata: { name: registry.name },
    spec,
  });
  doc.commentBefore = wrap(
    `The registry ${registry.host}, which Kasm's records name in docker_registry (in Kasm's own form, kept as it is). Workspaces refer to it by metadata.name.`,
  );
  const specMap = mapAt(doc, "spec");
  if (registry.insecure)
    comment(specMap, "insecure", "Plain HTTP: Kasm names it with http:// or it is on a loopback address.");
  if (registry.passwordEnv) {
    const auth = mapAt(specMap, "auth");
    flow(auth, "password");
    comment(
      specMap,
      "auth",
      `Kasm shows its stored token masked, so it is not copied here: set ${registry.passwordEnv} to the registry password or token where kasm-gitops runs (or write { file: /run/secrets/… }).`,
    );
  }
  return { path: `registries/${registry.name}.yaml`, text: render(doc) };
}

export function kasmServerFile(
  url: string,
  { pulls, removed }: Pick<ImportModel, "pulls" | "removed">,
  caFile?: string,
): ImportFile {
  const spec: Record<string, unknown> = {
    url,
    apiKey: { env: KASM_KEY_ENV },
    apiKeySecret: { env: KASM_SECRET_ENV },
    ...(caFile ? { tls: { ca: { file: caFile } } } : {}),
    pulls,
    removed,
  };
  const doc = new Document({ apiVersion: API_VERSION, kind: "KasmServer", metadata: { name: "kasm" }, spec });
  doc.commentBefore = wrap(
    "The Kasm web app these manifests were imported from: every Workspace is a record there, kept in line with Git.",
  );
  const specMap = mapAt(doc, "spec");
  for (const key of ["apiKey", "apiKeySecret"]) flow(specMap, key);
  comment(
    specMap,
    "apiKey",
    `A developer API key allowed to view and change images and groups: set ${KASM_KEY_ENV} and ${KASM_SECRET_ENV} where kasm-gitops runs.`,
  );
  if (caFile) {
    const tls = mapAt(specMap, "tls");
    flow(tls, "ca");
    comment(
      specMap,
      "tls",
      "The CA import trusted: make sure this file exists where kasm-gitops runs, inside /run/secrets or a folder allowed with --secret-dir.",
    );
  }
  comment(
    specMap,
    "pulls",
    pulls === "kasm"
      ? "kasm: the records carry their registry (in Kasm's own form) and Kasm's token, so Kasm's agents pull as they do today. With kasm-gitops instead, records carry no registry: Kasm's agents stop pulling and kasm-gitops does every pull (a few at a time, a record switched only once its agents hold the image), and Kasm's registry user and token are cleared from the records. See README.md."
      : "kasm-gitops: no record carries a registry, so Kasm's agents never pull; kasm-gitops does every pull for Workspaces with a Registry.",
  );
  comment(
    specMap,
    "removed",
    removed === "keep"
      ? "keep: Kasm holds records marked as kasm-gitops's whose Workspace is held back here, and the sync would disable a marked record whose Workspace is not in Git. Once they are fixed and uncommented, write disable (the default): a record whose Workspace file is deleted is then disabled."
      : "A record whose Workspace file is deleted from Git is disabled (or: delete, keep).",
  );
  return { path: "kasm-server.yaml", text: render(doc) };
}

/** The Agent template: commented out, since import could not see Kasm's agents (`why`, when it was refused). */
export function agentTemplateFile(why?: string): ImportFile {
  const doc = new Document({
    apiVersion: API_VERSION,
    kind: "Agent",
    metadata: { name: "agent-1" },
    spec: { docker: { host: "unix:///var/run/docker.sock" }, maxConcurrentPulls: 2 },
  });
  const intro = wrap(
    `Agents are the Docker hosts of your Kasm agents; kasm-gitops makes sure each holds the images of the workspaces it serves. Import ${why ? `could not see them (${why})` : "cannot see them"}: copy the document below once per agent, set its Docker address (tcp://host:2376 with tls: {ca, cert, key} for a remote engine), and uncomment it.\nThe imported workspaces have no spec.agents selector, so every agent serves every workspace; add labels here and spec.agents.matchLabels to a workspace to narrow that.`,
  );
  return {
    path: "agents.yaml",
    text: `#${intro.split("\n").join("\n#")}\n#\n${commentedOut(render(doc))}\n`,
  };
}

/** Everything import writes for a deployment, README included; pure, so the same Kasm gives the same bytes. */
export function buildImport(input: ImportInput): ImportOutput {
  const model = modelImport(input.records, input.groups, input.memberships, input.agents);
  const files: ImportFile[] = [
    kasmServerFile(input.url, model, input.caFile),
    model.agents ? agentsFile(model.agents) : agentTemplateFile(model.agentsUnread),
    ...model.registries.map(registryFile),
    ...model.workspaces.map(workspaceFile),
  ];
  files.push({ path: "README.md", text: importReadme(input.url, model, input.unreadable ?? []) });
  return { files, model };
}
