/**
 * What `import` makes of a Kasm deployment, as data: a workspace name per record, one Registry per registry
 * host, and per record the reasons it cannot be adopted as it is. The rule: the imported repo's first
 * apply changes nothing but the managed-by marker, so a record Git would change is held back.
 */
import { parseImageReference } from "../image/reference.js";
import { manifestFields } from "../kasm/record-fields.js";
import { namesRegistry, registryHost } from "../kasm/registry-form.js";
import type { KasmRecord } from "../kasm/types.js";
import { compareText, type KasmPulls, type KasmRemoved } from "../manifest/types.js";
import {
  type ImportAgentsRead,
  type ImportedAgent,
  importAgents,
  placementSelector,
  restrictedServers,
} from "./agents.js";
import { dnsLabel, secretEnvName, uniqueNames } from "./names.js";

export type ImportConfigField = "runConfig" | "execConfig" | "volumeMappings";

/** A Kasm record as import reads it: the owned fields decoded, plus what Kasm says that manifests cannot. */
export type ImportRecord = KasmRecord & {
  /** Configs Kasm holds as text that is not a JSON object (decoded as {}), with that text. */
  invalidConfigs?: { field: ImportConfigField; text: string }[];
  /** Kasm's image_type; only `Container` records are Docker images. */
  imageType?: string;
  /** Kasm runs sessions of this record only in this zone (its name) / on this server. */
  restrictedZone?: string | null;
  restrictedServer?: string | null;
};

export type ImportGroup = { groupId: string; name: string };
export type ImportMembership = { groupId: string; imageId: string };

/** A Registry import writes: the host as image references write it, and where its password will come from. */
export type ImportedRegistry = {
  name: string;
  host: string;
  insecure: boolean;
  username?: string;
  passwordEnv?: string;
};

/** One record's outcome: adopted (an active Workspace), or held (written commented out, with the reasons). */
export type ImportedWorkspace = {
  name: string;
  record: ImportRecord;
  registry?: ImportedRegistry;
  groups: string[];
  held: string[];
  /** Facts worth a comment that change nothing on apply. */
  notes: string[];
  /** Kasm's notes already mark the record as kasm-gitops's. */
  marked?: boolean;
  /** With Kasm's agents imported: the selector of the Agents Kasm restricts the record to. */
  selector?: Record<string, string>;
  /** With Kasm's agents imported: the record is not restricted (or cannot be as Kasm has it), so Git leaves it. */
  placementAny?: boolean;
};

export type ImportModel = {
  workspaces: ImportedWorkspace[];
  registries: ImportedRegistry[];
  pulls: KasmPulls;
  removed: KasmRemoved;
  /** One Agent per Kasm agent, when the key may view them; else `agentsUnread` says why. */
  agents?: ImportedAgent[];
  agentsUnread?: string;
};

/** Why an image name cannot be a Workspace's image, or undefined when it can. */
function imageProblem(name: string): string | undefined {
  try {
    const ref = parseImageReference(name);
    if (!ref.tag && !ref.digest)
      return `the image ${JSON.stringify(name)} has no tag or digest (Kasm would leave it Installing forever; kasm-gitops requires one): set the tag the agents run, e.g. ${ref.registry === "docker.io" ? name : ref.canonical.replace(/:latest$/, "")}:<tag>`;
    return undefined;
  } catch (error) {
    return `the image ${JSON.stringify(name)} is not a valid image reference (${(error as Error).message})`;
  }
}

const CONFIG_NAMES: Record<ImportConfigField, string> = {
  runConfig: "run_config",
  execConfig: "exec_config",
  volumeMappings: "volume_mappings",
};

/** The reasons a record would change on its first apply, or cannot be a Workspace at all. */
function heldReasons(record: ImportRecord, registry: ImportedRegistry | undefined): string[] {
  const reasons: string[] = [];
  if (record.imageType && record.imageType !== "Container")
    reasons.push(
      `Kasm's image_type is ${record.imageType}, not Container: kasm-gitops manages Docker image workspaces only; leave this record to Kasm (delete this file) or recreate it as a Container workspace`,
    );
  else {
    const problem = imageProblem(record.name);
    if (problem) reasons.push(problem);
  }
  for (const { field, text } of record.invalidConfigs ?? [])
    reasons.push(
      `Kasm's ${CONFIG_NAMES[field]} is not a JSON object (${JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}…` : text)}): fix it in Kasm's admin UI first (kasm-gitops cannot read Kasm's records while one holds such a config), then write the same mapping as spec.kasm.${field} here; as written ({}), apply would replace Kasm's text`,
    );
  if (record.friendlyName.trim() === "" || record.friendlyName.length > 255)
    reasons.push(
      `Kasm's friendly name ${JSON.stringify(record.friendlyName)} is not 1 to 255 characters: set spec.friendlyName`,
    );
  if (new Set(record.categories).size !== record.categories.length)
    reasons.push(
      "Kasm lists a category twice: keep each once in spec.kasm.categories (apply writes them so)",
    );
  const user = record.dockerUser || null;
  if (record.dockerRegistry) {
    if (!registry) {
      reasons.push(
        `the image is not under Kasm's docker_registry ${JSON.stringify(record.dockerRegistry)}, so Kasm pulls it from ${safeHost(record.name)}: fix the image or the registry in Kasm, then import again`,
      );
    } else {
      if (registry.passwordEnv && registry.username === undefined)
        reasons.push(
          `Kasm holds a registry token for ${registry.host} without a user: set the user in Kasm, then import again`,
        );
      else if (user !== (registry.username ?? null))
        reasons.push(
          `Kasm's registry user is ${JSON.stringify(user)} but Registry ${registry.name} uses ${JSON.stringify(registry.username ?? null)} for ${registry.host}: one host has one set of credentials in kasm-gitops`,
        );
      if (registry.passwordEnv && !record.dockerTokenSet)
        reasons.push(
          `Kasm holds no registry token for this record; apply would write Registry ${registry.name}'s password (${registry.passwordEnv}) to it`,
        );
    }
  } else if (user !== null || record.dockerTokenSet) {
    reasons.push(
      "Kasm holds registry credentials for this record but no docker_registry: apply would clear them; set the registry in Kasm, then import again",
    );
  }
  return reasons;
}

const safeHost = (name: string) => {
  try {
    return parseImageReference(name).registry;
  } catch {
    return "the image's own host";
  }
};

/** Notes that change nothing on apply but that an operator should know. */
function recordNotes(record: ImportRecord, agentsRead: boolean): string[] {
  const notes: string[] = [];
  if (record.restrictedZone && !agentsRead)
    notes.push(
      `Kasm runs this workspace only in zone ${record.restrictedZone}; kasm-gitops pulls its image on every agent the workspace selects: add spec.agents.matchLabels naming that zone's agents`,
    );
  if (record.restrictedServer && !agentsRead)
    notes.push(
      `Kasm runs this workspace only on server ${record.restrictedServer}; kasm-gitops pulls its image on every agent the workspace selects: add spec.agents.matchLabels naming that agent`,
    );
  if (record.cores <= 0)
    notes.push("Kasm's cores is not above 0: left to Kasm (spec.kasm.cores not written)");
  notes.push(...manifestFields(record).notes);
  if (record.memory <= 0 || !Number.isSafeInteger(record.memory))
    notes.push(
      "Kasm's memory is not a whole number of bytes above 0: left to Kasm (spec.kasm.memory not written)",
    );
  return notes;
}

/** One Registry per distinct host of the records' docker_registry, named after the host. */
function registriesOf(records: readonly ImportRecord[]): Map<string, ImportedRegistry> {
  const byHost = new Map<string, { insecure: boolean; users: Map<string, number>; auth: boolean }>();
  for (const record of records) {
    if (!record.dockerRegistry) continue;
    const { host, insecure } = registryHost(record.dockerRegistry);
    if (!host) continue;
    const entry = byHost.get(host) ?? { insecure: false, users: new Map(), auth: false };
    entry.insecure ||= insecure;
    if (record.dockerUser) entry.users.set(record.dockerUser, (entry.users.get(record.dockerUser) ?? 0) + 1);
    entry.auth ||= record.dockerTokenSet || Boolean(record.dockerUser);
    byHost.set(host, entry);
  }
  const hosts = [...byHost.keys()].sort(compareText);
  const names = uniqueNames(
    hosts.map((h) => dnsLabel(h)),
    "registry",
  );
  const registries = new Map<string, ImportedRegistry>();
  hosts.forEach((host, i) => {
    const entry = byHost.get(host)!;
    const name = names[i]!;
    // The user most records carry (code-point order breaks ties), so most records keep theirs.
    const username = [...entry.users].sort(([a, m], [b, n]) => n - m || compareText(a, b))[0]?.[0];
    registries.set(host, {
      name,
      host,
      insecure: entry.insecure,
      ...(username ? { username } : {}),
      ...(entry.auth ? { passwordEnv: secretEnvName(name, "PASSWORD") } : {}),
    });
  });
  return registries;
}

/** The whole import, decided: records sorted by friendly name then id, so names are reproducible. */
export function modelImport(
  records: readonly ImportRecord[],
  groups: readonly ImportGroup[],
  memberships: readonly ImportMembership[],
  agentsRead?: ImportAgentsRead,
): ImportModel {
  const seen = agentsRead && "servers" in agentsRead ? agentsRead : undefined;
  const listed = seen ? importAgents(seen.servers, restrictedServers(records)) : [];
  // No Kasm agent listed: nothing to write but the template.
  const agents = listed.length > 0 ? listed : undefined;
  const sorted = [...records].sort(
    (a, b) => compareText(a.friendlyName, b.friendlyName) || compareText(a.imageId, b.imageId),
  );
  const registries = registriesOf(sorted);
  const groupName = new Map(groups.map((g) => [g.groupId, g.name]));
  // A record kasm-gitops already manages keeps its workspace's name (marked records are named first), so
  // its marker still matches and no managed record is taken for one whose Workspace left Git.
  const marks = sorted.map((r) => markedName(r.notes));
  const order = sorted.map((_, i) => i).sort((a, b) => Number(!marks[a]) - Number(!marks[b]) || a - b);
  const wished = uniqueNames(
    order.map((i) => {
      const mark = marks[i];
      if (mark && isName(mark)) return mark;
      return dnsLabel(sorted[i]!.friendlyName) || dnsLabel(imageBase(sorted[i]!.name));
    }),
    "workspace",
  );
  const names: string[] = [];
  order.forEach((i, k) => {
    names[i] = wished[k]!;
  });
  const workspaces = sorted.map((record, i): ImportedWorkspace => {
    // Kasm's forms of a registry (`https://index.docker.io/v1/`, `https://host`, `host`) name the same Registry.
    const candidate = record.dockerRegistry
      ? registries.get(registryHost(record.dockerRegistry).host)
      : undefined;
    const registry =
      candidate && namesRegistry(record.dockerRegistry, safeHost(record.name)) ? candidate : undefined;
    const member = memberships.filter((m) => m.imageId === record.imageId && groupName.has(m.groupId));
    // With Kasm's agents: the selector of the Agents Kasm restricts the record to; else (not restricted, or
    // restricted as no selector can say) `placement: any`, so the first apply leaves its placement alone.
    const placed = agents && seen ? placementSelector(record, agents, seen.zones) : undefined;
    const placement =
      placed && "matchLabels" in placed
        ? { selector: placed.matchLabels }
        : agents
          ? { placementAny: true }
          : {};
    const unplaced =
      placed && "note" in placed
        ? [`${placed.note}: written with kasm.placement: any, so Kasm keeps its placement as it is`]
        : [];
    return {
      name: names[i]!,
      record,
      ...(registry ? { registry } : {}),
      groups: [...new Set(member.map((m) => groupName.get(m.groupId)!))].sort(compareText),
      held: [...heldReasons(record, registry), ...markerProblem(marks[i], names[i]!)],
      ...(marks[i] ? { marked: true } : {}),
      notes: [...recordNotes(record, agents !== undefined), ...unplaced],
      ...placement,
    };
  });
  const used = new Set(workspaces.filter((w) => w.held.length === 0).flatMap((w) => w.registry?.host ?? []));
  return {
    workspaces,
    registries: [...registries.values()],
    // The sync disables a marked record whose Workspace is not in Git: keep them while one is held back.
    removed: workspaces.some((w) => w.marked && w.held.length > 0) ? "keep" : "disable",
    // Records that carry a registry are pulled by Kasm's agents today: keep it so.
    pulls: used.size > 0 ? "kasm" : "kasm-gitops",
    ...(agents ? { agents } : {}),
    ...(agentsRead && "unreadable" in agentsRead ? { agentsUnread: agentsRead.unreadable } : {}),
  };
}

/** The notes line that marks a record as kasm-gitops's. */
const MARKER_PREFIX = "managed-by: kasm-gitops/";

/** The workspace a record's marker names, if its notes carry one. */
function markedName(notes: string | null): string | undefined {
  for (const line of (notes ?? "").split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed.startsWith(MARKER_PREFIX)) return trimmed.slice(MARKER_PREFIX.length).trim() || undefined;
  }
  return undefined;
}

const isName = (name: string) => dnsLabel(name) === name;

/** Why a marked record cannot keep its marker's name, or nothing when it can. */
function markerProblem(mark: string | undefined, name: string): string[] {
  if (mark === undefined || mark === name) return [];
  if (!isName(mark))
    return [
      `Kasm's notes mark this record as managed by "${mark}", which is not a workspace name: remove that line from the notes in Kasm, then import again`,
    ];
  return [
    `Kasm's notes mark this record as managed by workspace "${mark}", as they mark another record: keep the marker on one record only (edit the notes in Kasm), then import again`,
  ];
}

/** The last path part of an image, without tag or digest: a name for a record without a friendly one. */
function imageBase(name: string): string {
  const path = name.split("@")[0]!.split("/").pop() ?? "";
  return path.split(":")[0] ?? "";
}
