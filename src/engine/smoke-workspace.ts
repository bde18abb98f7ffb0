/**
 * A smoke test of one Workspace as it stands: its managed record in Kasm, the digest the agents serving it
 * hold under its image, and the KasmServer's smoke user; sessions an earlier run left are destroyed first.
 * `kasm-gitops smoke WORKSPACE` calls it.
 */
import { KasmGitopsError } from "../core/errors.js";
import { indexLocalImages } from "../core/image/local.js";
import { parseImageReference } from "../core/image/reference.js";
import { SMOKE_DEFAULTS, type SmokeResult, smokeSettings } from "../core/kasm/smoke.js";
import { managedBy } from "../core/kasm/types.js";
import type { ManifestSet, WorkspaceManifest } from "../core/manifest/types.js";
import { selects } from "../core/plan/desired.js";
import { closest } from "../core/suggest.js";
import type { Clock, KasmApi, SmokeStore } from "../ports.js";
import type { ReconcileDeps } from "./cycle.js";
import { destroyPending, runSmoke } from "./smoke.js";

export type WorkspaceSmoke = {
  set: ManifestSet;
  workspace: string;
  deps: Pick<ReconcileDeps, "agentFor" | "kasmFor">;
  store: SmokeStore;
  clock: Clock;
  pollMs?: number;
  signal?: AbortSignal;
  /** Hears what happens before the verdict (sessions destroyed, the digest tested). */
  onStep?: (line: string) => void;
};

const usage = (message: string) => new KasmGitopsError("usage", message);

/** The workspace by name, or a usage error with a suggestion. */
function workspaceNamed(set: ManifestSet, name: string): WorkspaceManifest {
  const found = set.workspaces.find((w) => w.metadata.name === name);
  if (found) return found;
  const names = set.workspaces.map((w) => w.metadata.name);
  const hint = closest(name, names);
  throw usage(`no Workspace "${name}" in this revision${hint ? `; did you mean ${hint}?` : ""}`);
}

/** The digest the enabled agents serving `w` hold under its image: one, or an error saying why not. */
async function servedDigest(
  w: WorkspaceManifest,
  set: ManifestSet,
  deps: WorkspaceSmoke["deps"],
  signal?: AbortSignal,
) {
  const ref = parseImageReference(w.spec.image);
  if (ref.digest) return ref.digest;
  const found = new Set<string>();
  for (const agent of set.agents.filter((a) => a.spec.enabled !== false && selects(w, a))) {
    const images = await (await deps.agentFor(agent)).listImages(signal);
    for (const digest of indexLocalImages(images).digestsFor(ref)) found.add(digest);
  }
  if (found.size !== 1)
    throw usage(
      found.size === 0
        ? `no agent serving workspace "${w.metadata.name}" holds ${ref.canonical} yet: apply first`
        : `the agents serving workspace "${w.metadata.name}" hold ${ref.canonical} at ${found.size} digests (${[...found].join(", ")}): apply first, so they agree`,
    );
  return [...found][0]!;
}

/** The user_id of the KasmServer's smoke user. */
async function smokeUser(api: KasmApi, username: string, signal?: AbortSignal): Promise<string> {
  try {
    return await api.findUserId(username, signal);
  } catch (error) {
    if (error instanceof KasmGitopsError && error.code === "kasm-refused")
      throw usage(`Kasm has no user "${username}" (KasmServer spec.smoke.user): ${error.message}`);
    throw error;
  }
}

/** Runs one smoke test of the named Workspace's record now, whatever results it already has. */
export async function smokeWorkspace(options: WorkspaceSmoke): Promise<SmokeResult> {
  const { set, deps, signal } = options;
  const w = workspaceNamed(set, options.workspace);
  const server = set.kasmServer;
  if (!server || !deps.kasmFor) throw usage("smoke tests run in Kasm: this revision has no KasmServer");
  const username = server.spec.smoke?.user;
  if (!username)
    throw usage(
      `KasmServer "${server.metadata.name}" names no smoke user: add spec.smoke: {user: <Kasm username>}`,
    );
  const api = await deps.kasmFor(server);
  const destroyed = await destroyPending(api, options.store);
  if (destroyed.length > 0)
    options.onStep?.(`destroyed ${destroyed.length} session(s) an earlier run left: ${destroyed.join(", ")}`);
  const { records } = await api.readImages(signal);
  const record = records.find((r) => managedBy(r.notes) === w.metadata.name);
  if (!record) throw usage(`Kasm has no record of workspace "${w.metadata.name}" yet: apply first`);
  if (record.name !== w.spec.image)
    throw usage(
      `the Kasm record of workspace "${w.metadata.name}" points at ${record.name}, not ${w.spec.image} yet: apply first`,
    );
  const digest = await servedDigest(w, set, deps, signal);
  const userId = await smokeUser(api, username, signal);
  options.onStep?.(`smoke test of workspace ${w.metadata.name} at ${digest} as Kasm user ${username}`);
  return runSmoke({
    api,
    store: options.store,
    clock: options.clock,
    workspace: w,
    imageId: record.imageId,
    digest,
    userId,
    settings: smokeSettings(w) ?? { ...SMOKE_DEFAULTS },
    ...(options.pollMs ? { pollMs: options.pollMs } : {}),
    ...(signal ? { signal } : {}),
  });
}
