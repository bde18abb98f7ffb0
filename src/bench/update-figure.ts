/**
 * The update figure: the registry requests one update check of R repositories costs, counted at a proxy that
 * demands Docker Hub-like Bearer tokens and paginates tag lists. Two Workspaces follow each repository, so
 * the ideal is one tag listing per repository (not per Workspace), one HEAD per candidate and one per tag in
 * Git, plus one ping and one token for the whole check.
 */
import { systemClock } from "../adapters/clock.js";
import { createRegistryClient } from "../adapters/registry-client.js";
import { parseImageReference } from "../core/image/reference.js";
import { API_VERSION, type ManifestSet, type WorkspaceManifest } from "../core/manifest/types.js";
import { checkUpdates } from "../engine/update/check.js";
import { uniqueRepo } from "../lab/fleet-yaml.js";
import type { Lab } from "../lab/lab.js";
import { pushRandomImage } from "../lab/push-image.js";
import { startRegistryProxy } from "../lab/registry-proxy.js";
import { type FigureLine, ratioOf } from "./table.js";

export type UpdateSizes = { repositories: number };
export const UPDATE_DEFAULTS: UpdateSizes = { repositories: 20 };
const TAGS = ["20261120", "20261127", "20261201", "20261206", "latest"];
const at = { file: "bench.yaml", line: 1, col: 1 };

export async function benchUpdate(lab: Lab, sizes: UpdateSizes): Promise<FigureLine[]> {
  const { auth } = lab.registries;
  const credentials = { username: "bench-bot", password: `bench-${Date.now().toString(36)}` };
  const proxy = await startRegistryProxy({
    upstream: auth.url,
    upstreamAuth: auth.auth!,
    behaviour: { bearer: credentials, paginateTags: true },
  });
  try {
    const workspaces: WorkspaceManifest[] = [];
    const upstream = createRegistryClient({
      host: new URL(auth.url).host,
      insecure: true,
      credentials: auth.auth!,
    });
    for (let i = 0; i < sizes.repositories; i++) {
      const repository = uniqueRepo(`update-${i}`);
      const pushed = await pushRandomImage({ url: auth.url, auth: auth.auth!, repository, tag: TAGS[0]! });
      const ref = parseImageReference(`${new URL(auth.url).host}/${repository}:${TAGS[0]}`);
      const manifest = await upstream.getManifest(ref, pushed.digest);
      for (const tag of TAGS.slice(1))
        await upstream.putManifest(ref, tag, manifest.body, manifest.mediaType);
      for (const ring of ["testing", "staging"]) {
        workspaces.push({
          apiVersion: API_VERSION,
          kind: "Workspace",
          metadata: { name: `app-${i}-${ring}` },
          spec: {
            image: `${proxy.host}/${repository}:${TAGS[ring === "testing" ? 1 : 2]}`,
            registry: "lab",
            update: { policy: "numerical", filter: { pattern: "^(?<ts>\\d{8})$", extract: "$<ts>" } },
          },
          source: at,
        });
      }
    }
    const set: ManifestSet = {
      registries: [
        {
          apiVersion: API_VERSION,
          kind: "Registry",
          metadata: { name: "lab" },
          spec: { host: proxy.host, insecure: true },
          source: at,
        },
      ],
      agents: [],
      workspaces,
    };
    proxy.reset();
    const client = createRegistryClient({ host: proxy.host, insecure: true, credentials });
    // Pages of 2 tags: each repository's 5 tags cost 3 GETs, as a long tag list would on a paginating registry.
    const findings = await checkUpdates(
      set,
      { clock: systemClock, registryFor: async () => ({ client }) },
      { pageSize: 2 },
    );
    const candidates = findings.filter((f) => f.status === "candidate").length;
    if (candidates !== workspaces.length)
      throw new Error(`expected ${workspaces.length} candidates, got ${candidates}`);
    const stats = proxy.stats();
    const pages = Math.ceil(TAGS.length / 2);
    // Ideal: 1 ping + 1 token, each repository's pages once, one HEAD per candidate tag and per tag in Git.
    const heads = sizes.repositories * 3;
    const ideal = 2 + sizes.repositories * pages + heads;
    const perWorkspace = 2 + workspaces.length * pages + heads;
    const ratio = ratioOf(stats.total, ideal);
    return [
      {
        id: "update.check",
        what: `update check of ${sizes.repositories} repositories (${workspaces.length} workspaces, tags in pages of 2)`,
        measured: { value: stats.total, unit: "requests" },
        baseline: { value: ideal, unit: "requests", label: "ideal" },
        ...(ratio === undefined ? {} : { ratio }),
        breakdown: { "listing per workspace": { value: perWorkspace, unit: "requests" } },
        notes: [
          `requests by kind: ${Object.entries(stats.byKind)
            .map(([k, n]) => `${k} ${n}`)
            .join(", ")}; token requests ${stats.tokenRequests}`,
          `listing each repository once per workspace instead of once per repository would cost ${perWorkspace} requests`,
          `${candidates} candidates, each digest read with one HEAD; the tag in Git read with one HEAD per repository and tag`,
        ],
      },
    ];
  } finally {
    await proxy.close();
  }
}
