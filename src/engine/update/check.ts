/**
 * The update check (docs/automation.md): each repository that Workspaces with an `update` policy use is asked
 * for its tags once, however many Workspaces share it (page by page, each page retried like a HEAD); the
 * policy picks each Workspace's candidate, and one HEAD per candidate reads its digest.
 */

import { retag } from "../../core/authoring/promote-target.js";
import { describeError, KasmGitopsError } from "../../core/errors.js";
import { type ImageReference, parseImageReference } from "../../core/image/reference.js";
import type { ManifestSet, RegistryManifest, WorkspaceManifest } from "../../core/manifest/types.js";
import { DEFAULT_RETRY, type RetryPolicy, withRetry } from "../../core/retry.js";
import type { UpdateFinding } from "../../core/update/finding.js";
import { chooseTag, compilePolicy, type TagChoice } from "../../core/update/policy.js";
import type { Clock, RegistryClient } from "../../ports.js";
import type { ReconcileDeps } from "../cycle.js";
import { mapLimit, resolveDigests } from "../observe.js";

/** Tags asked for per page, and the most pages read: 100 000 tags is more than any real repository holds. */
export const TAG_PAGE_SIZE = 1000;
const MAX_PAGES = 100;

export type UpdateDeps = Pick<ReconcileDeps, "registryFor" | "clock" | "retry">;

export type { UpdateFinding } from "../../core/update/finding.js";

type Subject = { workspace: WorkspaceManifest; registry: RegistryManifest; ref: ImageReference };

/** The Registry a Workspace's image comes from: the one it names, else the one serving its host. */
function registryOf(set: ManifestSet, w: WorkspaceManifest, ref: ImageReference) {
  return (
    set.registries.find((r) => r.metadata.name === w.spec.registry) ??
    set.registries.find((r) => r.spec.host === ref.registry)
  );
}

/** Every tag of a repository, following the registry's pages; each page is retried when the failure is transient. */
export async function listAllTags(
  client: RegistryClient,
  ref: ImageReference,
  options: { clock: Clock; retry?: RetryPolicy; signal?: AbortSignal; pageSize?: number },
): Promise<string[]> {
  if (!client.tagPage)
    throw new KasmGitopsError("internal", `the client for ${client.host} cannot list tags`);
  const tags: string[] = [];
  const seen = new Set<string>();
  let next: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const { value } = await withRetry(
      () =>
        client.tagPage!(
          ref,
          { pageSize: options.pageSize ?? TAG_PAGE_SIZE, ...(next ? { next } : {}) },
          options.signal,
        ),
      {
        policy: options.retry ?? DEFAULT_RETRY,
        clock: options.clock,
        ...(options.signal ? { signal: options.signal } : {}),
        waitFor: () => client.rateLimit().retryAfterMs,
      },
    );
    tags.push(...value.tags);
    // A registry that sends the same page again would loop: the list ends where it repeats itself.
    if (!value.next || seen.has(value.next)) return tags;
    seen.add(value.next);
    next = value.next;
  }
  throw new KasmGitopsError(
    "registry-error",
    `${ref.registry}/${ref.repository}: more than ${MAX_PAGES} pages of tags; refusing to read further`,
  );
}

/**
 * Checks the Workspaces that have an `update` (all of them, or those `only` names) against their registries.
 * A repository or digest that cannot be read is an `error` finding for the Workspaces that need it, never a throw.
 */
export async function checkUpdates(
  set: ManifestSet,
  deps: UpdateDeps,
  options: { only?: ReadonlySet<string>; signal?: AbortSignal; pageSize?: number } = {},
): Promise<UpdateFinding[]> {
  const findings: UpdateFinding[] = [];
  const subjects: Subject[] = [];
  for (const workspace of set.workspaces) {
    const name = workspace.metadata.name;
    if (!workspace.spec.update || workspace.spec.enabled === false) continue;
    if (options.only && !options.only.has(name)) continue;
    const ref = parseImageReference(workspace.spec.image);
    const registry = registryOf(set, workspace, ref);
    if (!registry) {
      const error = `no Registry manifest serves ${ref.registry}: its tags cannot be listed`;
      findings.push({
        workspace: name,
        current: workspace.spec.image,
        status: "error",
        code: "usage",
        error,
      });
    } else subjects.push({ workspace, registry, ref });
  }
  // One listing per repository of a registry, shared by every Workspace that uses it.
  const repositories = new Map<string, Subject>();
  for (const s of subjects) repositories.set(`${s.registry.metadata.name}\0${s.ref.repository}`, s);
  const clients = new Map<string, RegistryClient>();
  for (const s of repositories.values()) {
    if (!clients.has(s.registry.metadata.name))
      clients.set(s.registry.metadata.name, (await deps.registryFor(s.registry)).client);
  }
  // Each client first hears every repository it will list: one token for all their scopes, not one each.
  await Promise.all(
    [...clients].map(([name, client]) =>
      client.prepare?.(
        [...repositories.values()].filter((s) => s.registry.metadata.name === name).map((s) => s.ref),
        options.signal,
      ),
    ),
  );
  const listed = new Map<string, string[] | { code: string; error: string }>();
  await mapLimit([...repositories.entries()], 4, async ([key, s]) => {
    const client = clients.get(s.registry.metadata.name)!;
    try {
      listed.set(key, await listAllTags(client, s.ref, { ...deps, ...options }));
    } catch (error) {
      const code = error instanceof KasmGitopsError ? error.code : "registry-error";
      listed.set(key, { code, error: describeError(error) });
    }
  });
  const chosen: { s: Subject; choice: TagChoice; listed: number }[] = [];
  for (const s of subjects) {
    const tags = listed.get(`${s.registry.metadata.name}\0${s.ref.repository}`)!;
    const name = s.workspace.metadata.name;
    if (!Array.isArray(tags)) {
      findings.push({ workspace: name, current: s.workspace.spec.image, status: "error", ...tags });
      continue;
    }
    const choice = chooseTag(tags, compilePolicy(s.workspace.spec.update!), s.ref.tag);
    chosen.push({ s, choice, listed: tags.length });
  }
  return [...findings, ...(await withDigests(chosen, clients, deps, options.signal))];
}

/** One HEAD per candidate (and per tag in Git that pins no digest), through the refresh's own digest reader. */
async function withDigests(
  chosen: { s: Subject; choice: TagChoice; listed: number }[],
  clients: Map<string, RegistryClient>,
  deps: UpdateDeps,
  signal?: AbortSignal,
): Promise<UpdateFinding[]> {
  const queries = chosen.flatMap(({ s, choice }) => {
    if (choice.status !== "candidate") return [];
    const next = {
      ref: parseImageReference(retag(s.ref.canonical, { tag: choice.tag })),
      registry: s.registry.metadata.name,
    };
    const now = s.ref.digest || !s.ref.tag ? [] : [{ ref: s.ref, registry: s.registry.metadata.name }];
    return [next, ...now];
  });
  const digests = await resolveDigests(queries, (name) => clients.get(name), {
    clock: deps.clock,
    ...(deps.retry ? { retry: deps.retry } : {}),
    ...(signal ? { signal } : {}),
  });
  return chosen.map(({ s, choice, listed }): UpdateFinding => {
    const base = { workspace: s.workspace.metadata.name, current: s.workspace.spec.image };
    if (choice.status !== "candidate") return { ...base, ...choice, listed };
    const canonical = parseImageReference(retag(s.ref.canonical, { tag: choice.tag })).canonical;
    const result = digests.get(canonical)!;
    if ("error" in result) return { ...base, status: "error", code: result.code, error: result.error };
    const previous = s.ref.digest ?? (s.ref.tag ? digests.get(s.ref.canonical) : undefined);
    const previousDigest =
      typeof previous === "string"
        ? previous
        : previous && "digest" in previous
          ? previous.digest
          : undefined;
    return {
      ...base,
      status: "candidate",
      image: retag(s.workspace.spec.image, {
        tag: choice.tag,
        ...(s.ref.digest ? { digest: result.digest } : {}),
      }),
      tag: choice.tag,
      ...(s.ref.tag ? { previousTag: s.ref.tag } : {}),
      digest: result.digest,
      ...(previousDigest ? { previousDigest } : {}),
      considered: choice.considered,
      listed,
    };
  });
}
