/** The shell around the Kasm planner: observe Kasm, carry out `kasm-*` actions, remember what was written. */
import { describeError, KasmGitopsError } from "../core/errors.js";
import type { CredentialsFingerprint } from "../core/fingerprint.js";
import type { KasmAgentsObservation } from "../core/kasm/agents.js";
import { desiredRecord, fieldsHash, type RegistryAuthInfo, TOKEN } from "../core/kasm/desired.js";
import type { KasmServerConfig } from "../core/kasm/plan.js";
import { type KasmObservation, managedBy } from "../core/kasm/types.js";
import { DEFAULTS, type KasmServerManifest, type ManifestSet } from "../core/manifest/types.js";
import type { KasmAction } from "../core/plan/types.js";
import type { Credentials, KasmApi, KasmImageFields, KasmWritten } from "../ports.js";
import { mapLimit } from "./observe.js";

export const kasmServerConfig = (m: KasmServerManifest): KasmServerConfig => ({
  name: m.metadata.name,
  url: m.spec.url,
  pulls: m.spec.pulls ?? DEFAULTS.kasmPulls,
  removed: m.spec.removed ?? DEFAULTS.kasmRemoved,
});

/**
 * Each Registry as a record carries it (`pulls: kasm`): host, user, and its credentials' fingerprint (keyed:
 * see KasmWrittenStore.fingerprinter), which tells a rotated password apart without keeping it.
 */
export function registryInfo(
  set: ManifestSet,
  credentialsFor: (registry: string) => Credentials | undefined,
  credentialsFingerprint: CredentialsFingerprint,
): Map<string, RegistryAuthInfo> {
  const info = new Map<string, RegistryAuthInfo>();
  for (const r of set.registries) {
    const credentials = credentialsFor(r.metadata.name);
    info.set(r.metadata.name, {
      host: r.spec.host,
      ...(credentials
        ? { username: credentials.username, fingerprint: credentialsFingerprint(r.spec.host, credentials) }
        : {}),
    });
  }
  return info;
}

/**
 * Reads records, groups, and the image rows of every group: 2 calls plus one per group, so the whole
 * membership of each managed record is known (All Users included, which Kasm may add a new record to).
 * Any failure makes Kasm unknown for this cycle, never half-known.
 */
export async function observeKasm(
  api: KasmApi,
  signal?: AbortSignal,
  options: KasmObserveOptions = {},
): Promise<{ observed: KasmObservation; groupsRead: string[] }> {
  try {
    const [images, groups, agents] = await Promise.all([
      api.readImages(signal),
      api.listGroups(signal),
      options.agents ? observeAgents(api, options.now ?? (() => new Date()), signal) : undefined,
    ]);
    const read = groups.map((g) => g.groupId);
    const rows = await mapLimit(read, 4, (id) => api.listGroupImages(id, signal));
    const { records, unreadable } = images;
    const observed = {
      reachable: true as const,
      records,
      groups,
      memberships: rows.flat(),
      ...(agents ? { agents } : {}),
    };
    return { observed: unreadable.length > 0 ? { ...observed, unreadable } : observed, groupsRead: read };
  } catch (error) {
    return { observed: { reachable: false, error: describeError(error) }, groupsRead: [] };
  }
}

/** `agents`: also read Kasm's agents and zones (when an Agent names its Kasm agent); `now` dates that read. */
export type KasmObserveOptions = { agents?: boolean; now?: () => Date };

/**
 * Kasm's agents and zones, and when they were read (report ages are counted from then). A failure here is
 * kept apart from the records: a key that may view images but not agents still syncs records.
 */
async function observeAgents(
  api: KasmApi,
  now: () => Date,
  signal?: AbortSignal,
): Promise<KasmAgentsObservation> {
  try {
    const [servers, zones] = await Promise.all([api.listServers(signal), api.listZones(signal)]);
    return { servers, zones, readAt: now().toISOString() };
  } catch (error) {
    return { error: describeError(error) };
  }
}

/** Whether any Agent names its Kasm agent, so Kasm's agents and zones are read with the records. */
export const readsKasmAgents = (set: ManifestSet) => set.agents.some((a) => a.spec.kasm !== undefined);

/** What a Kasm action needs at apply time that a plan never carries: the API and the registry tokens. */
export type KasmExecution = {
  api: KasmApi;
  credentialsFor: (registry: string) => Credentials | undefined;
  /** How long a switch waits for Kasm's agents to report its image (default DEFAULT_REPORT_WAIT_MS). */
  reportWaitMs?: number;
};

function token(registry: string | undefined, exec: KasmExecution): string {
  const credentials = registry ? exec.credentialsFor(registry) : undefined;
  if (!credentials) {
    throw new KasmGitopsError(
      "secret-unresolved",
      `the credentials of Registry "${registry}" are not available`,
    );
  }
  return credentials.password;
}

/** Carries out one Kasm action; resolves with the record's id (a create's new one). */
export async function runKasmAction(
  action: KasmAction,
  exec: KasmExecution,
  createdId: string | undefined,
  signal?: AbortSignal,
): Promise<string | undefined> {
  switch (action.type) {
    case "kasm-create": {
      // Another syncer (one started by mistake) may have created it since the plan: never create it twice.
      const existing = await recordByMarker(exec.api, action.workspace, signal);
      if (existing) return existing;
      const fields = {
        ...action.record,
        ...(action.tokenFrom ? { dockerToken: token(action.tokenFrom, exec) } : {}),
      };
      return (await exec.api.createImage(fields, signal)).imageId;
    }
    case "kasm-update": {
      const fields: KasmImageFields = {};
      for (const change of action.changes) {
        if (change.field === "dockerToken")
          fields.dockerToken = change.to === TOKEN.none ? null : token(action.tokenFrom, exec);
        else (fields as Record<string, unknown>)[change.field] = change.to;
      }
      await exec.api.updateImage(action.imageId, fields, signal);
      return action.imageId;
    }
    case "kasm-disable":
      await exec.api.updateImage(action.imageId, { enabled: false }, signal);
      return action.imageId;
    case "kasm-delete":
      await exec.api.deleteImage(action.imageId, signal);
      return action.imageId;
    case "kasm-group-add":
    case "kasm-group-remove": {
      const imageId = action.imageId ?? createdId;
      if (!imageId)
        throw new KasmGitopsError(
          "kasm-error",
          `the record of workspace "${action.workspace}" has no id yet`,
        );
      // The client reads the group's rows first (Kasm adds a row without looking), so a second writer adds none.
      if (action.type === "kasm-group-add") await exec.api.addImageToGroup(action.groupId, imageId, signal);
      else await exec.api.removeImageFromGroup(action.groupId, imageId, signal);
      return imageId;
    }
  }
}

/** The id of the record carrying a workspace's marker now, read just before a create. */
async function recordByMarker(api: KasmApi, workspace: string, signal?: AbortSignal) {
  const { records } = await api.readImages(signal);
  return records
    .filter((r) => managedBy(r.notes) === workspace)
    .map((r) => r.imageId)
    .sort()[0];
}

/**
 * What to remember after a cycle's Kasm writes: the hash of Git's fields for every record written, the
 * fingerprint of a token written (dropped when cleared), the digest a pinned record carries, and every group
 * Git names (read from now on).
 */
export function afterWrites(
  written: KasmWritten,
  done: readonly KasmAction[],
  set: ManifestSet,
  server: KasmServerConfig,
  registries: ReadonlyMap<string, RegistryAuthInfo>,
): KasmWritten {
  const records = { ...written.records };
  const byName = new Map(set.workspaces.map((w) => [w.metadata.name, w]));
  for (const action of done) {
    if (action.type === "kasm-delete") delete records[action.workspace];
    if (action.type !== "kasm-create" && action.type !== "kasm-update") continue;
    const w = byName.get(action.workspace);
    if (!w) continue;
    const desired = desiredRecord(w, server.pulls, registries);
    const entry = { ...records[action.workspace], fields: fieldsHash(desired) };
    const tokenChange =
      action.type === "kasm-update" ? action.changes.find((c) => c.field === "dockerToken") : undefined;
    if ((action.tokenFrom || (action.type === "kasm-update" && action.keepsToken)) && desired.token)
      entry.token = desired.token.fingerprint;
    else if (tokenChange?.to === TOKEN.none) delete entry.token;
    // The digest pinned, so the next plan tells a registry move (changed) from an edit in Kasm (drift).
    const hash =
      action.type === "kasm-create" ? action.record.hash : action.changes.find((c) => c.field === "hash")?.to;
    if (typeof hash === "string") entry.hash = hash;
    records[action.workspace] = entry;
  }
  const groups = new Set([...written.groups, ...set.workspaces.flatMap((w) => w.spec.groups ?? [])]);
  return { records, groups: [...groups].sort() };
}
