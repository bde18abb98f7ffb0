/**
 * Figure 2: what one refresh of A agents × I unchanged images costs the registry, counted at a proxy in
 * front of the lab registry. kasm-gitops: a `plan` refresh through the real adapters (a new client, as the CLI
 * has), then the daemon's next refresh (the same clients), against the same refresh with the batch step
 * withheld (each repository learns from its own 401 and fetches its own token, as before batching). The Kasm
 * agent's behaviour: every agent runs `docker pull` for every image, 2 at a time, on a real Docker Engine.
 */

import { createDockerAgent } from "../adapters/docker-agent.js";
import { createDeps } from "../app.js";
import { secretPolicy } from "../core/manifest/secret-policy.js";
import { runCycle } from "../engine/cycle.js";
import { mapLimit } from "../engine/observe.js";
import { loadSnapshot } from "../engine/snapshot.js";
import { uniqueRepo } from "../lab/fleet-yaml.js";
import type { Lab } from "../lab/lab.js";
import { pushRandomImage } from "../lab/push-image.js";
import { type ProxyStats, startRegistryProxy } from "../lab/registry-proxy.js";
import type { RegistryClient } from "../ports.js";
import { dockerVersion, labAgents, manifestRepo, removeImages, removeRepo } from "./lab-fleet.js";
import { atMost, type FigureLine, ratioOf } from "./table.js";

export type RegistrySizes = { agents: number; images: number; bearer: boolean };
export const REGISTRY_DEFAULTS: RegistrySizes = { agents: 10, images: 6, bearer: true };

/** Kasm's `max_concurrent_docker_pulls` default. */
const KASM_PULLS_AT_ONCE = 2;
const PASSWORD_ENV = "KASM_SECRET_BENCH_REGISTRY_PASSWORD";

/** Requests by kind, and how many were 401 challenges (a client's first request to a new token scope). */
function breakdown(stats: ProxyStats): string {
  const kinds = Object.entries(stats.byKind)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([kind, n]) => `${kind} ${n}`)
    .join(", ");
  const challenges = stats.byStatus["401"] ?? 0;
  return challenges > 0 ? `${kinds} (${challenges} of them answered 401, a Bearer challenge)` : kinds;
}

/**
 * The client with its batch step (`prepare`) withheld: every repository pays its own 401 challenge and token
 * request, which is what a refresh cost before references were handed over as a batch.
 */
function unbatched(client: RegistryClient): RegistryClient {
  return {
    host: client.host,
    headDigest: (ref, signal) => client.headDigest(ref, signal),
    getManifest: (ref, reference, signal) => client.getManifest(ref, reference, signal),
    putManifest: (ref, tag, body, mediaType, signal) => client.putManifest(ref, tag, body, mediaType, signal),
    rateLimit: () => client.rateLimit(),
  };
}

/** A proxy that, in bearer mode, makes clients fetch tokens the way Docker Hub does. */
async function startProxy(lab: Lab, sizes: RegistrySizes) {
  const { auth } = lab.registries;
  const credentials = { username: "bench-bot", password: `bench-${Date.now().toString(36)}` };
  const proxy = sizes.bearer
    ? await startRegistryProxy({
        upstream: auth.url,
        upstreamAuth: auth.auth!,
        behaviour: { bearer: credentials },
      })
    : await startRegistryProxy({ upstream: lab.registries.plain.url });
  const upstream = sizes.bearer ? { url: auth.url, auth: auth.auth! } : { url: lab.registries.plain.url };
  return { proxy, upstream, credentials: sizes.bearer ? credentials : undefined };
}

export async function benchRegistry(lab: Lab, sizes: RegistrySizes): Promise<FigureLine[]> {
  const { proxy, upstream, credentials } = await startProxy(lab, sizes);
  const agents = labAgents(lab, sizes.agents);
  const images: string[] = [];
  for (let i = 0; i < sizes.images; i++) {
    const repository = uniqueRepo(`refresh-${i}`);
    await pushRandomImage({ ...upstream, repository, tag: "v1" });
    images.push(`${proxy.host}/${repository}:v1`);
  }
  const bench = await manifestRepo({
    registries: [
      {
        name: "lab",
        host: proxy.host,
        ...(credentials ? { auth: { username: credentials.username, passwordEnv: PASSWORD_ENV } } : {}),
      },
    ],
    agents,
    workspaces: images.map((image, i) => ({ name: `app-${i}`, image, registry: "lab" })),
  });
  const engines = [...new Set(agents.map((a) => a.engine))];
  const pulled = engines.flatMap((host) => images.map((reference) => ({ host, reference })));
  try {
    // The steady state being measured: every image already on every agent, unchanged in the registry.
    for (const { host, reference } of pulled) {
      await createDockerAgent({ name: "setup", host }).pull(
        reference,
        credentials ? { auth: credentials } : {},
      );
    }
    const env = { ...process.env, ...(credentials ? { [PASSWORD_ENV]: credentials.password } : {}) };
    // Each createDeps has its own registry clients, so every measurement starts from a client that knows nothing.
    const newDeps = () =>
      createDeps({
        repo: bench.repo.bare,
        path: bench.path,
        stateDir: bench.stateDir,
        env,
        secrets: secretPolicy({}, env),
      });
    const deps = newDeps();
    const snapshot = await loadSnapshot(deps);
    const refresh = async (refreshDeps: ReturnType<typeof newDeps>) => {
      proxy.reset();
      const { plan } = await runCycle(refreshDeps, { snapshot, refresh: "all" });
      if (plan.actions.length > 0)
        throw new Error(`an unchanged fleet was planned with ${plan.actions.length} action(s)`);
      return proxy.stats();
    };
    const plain = newDeps();
    const before = await refresh({
      ...plain,
      registryFor: async (manifest) => {
        const access = await plain.registryFor(manifest);
        return { ...access, client: unbatched(access.client) };
      },
    });
    const ours = await refresh(deps);
    const next = await refresh(deps);
    proxy.reset();
    await kasmRefresh(agents, images, credentials);
    const kasm = proxy.stats();
    const docker = await dockerVersion(lab.engines[0]!.host);
    return lines(sizes, { ours, next, before, kasm }, docker);
  } finally {
    await proxy.close();
    await removeImages(pulled);
    await removeRepo(bench);
  }
}

/**
 * The Kasm agent's hourly refresh: each agent pulls each of its images, 2 at a time. Simulated agents that
 * share an engine take turns, so the engine never merges two agents' pulls into one.
 */
async function kasmRefresh(
  agents: { name: string; engine: string }[],
  images: string[],
  auth: { username: string; password: string } | undefined,
) {
  const byEngine = new Map<string, string[]>();
  for (const a of agents) byEngine.set(a.engine, [...(byEngine.get(a.engine) ?? []), a.name]);
  await Promise.all(
    [...byEngine].map(async ([host, names]) => {
      for (const name of names) {
        const agent = createDockerAgent({ name, host });
        await mapLimit(images, KASM_PULLS_AT_ONCE, (image) => agent.pull(image, auth ? { auth } : {}));
      }
    }),
  );
}

type Counts = {
  /** A `plan` refresh: new registry clients, as every CLI run has. */
  ours: ProxyStats;
  /** The daemon's next refresh: the same clients, their scheme and tokens kept. */
  next: ProxyStats;
  /** A `plan` refresh with the batch step withheld: one 401 and one token per repository. */
  before: ProxyStats;
  kasm: ProxyStats;
};

const heads = (stats: ProxyStats) => stats.byKind["manifest-head"] ?? 0;
const tokens = (stats: ProxyStats) => stats.tokenRequests;

function lines(sizes: RegistrySizes, counts: Counts, docker: string): FigureLine[] {
  const { ours, next, before, kasm } = counts;
  const size = `${sizes.agents} agents × ${sizes.images} images`;
  const label = "Kasm agents' docker pull";
  const oursGets = ours.byKind["manifest-get"] ?? 0;
  const kasmGets = kasm.byKind["manifest-get"] ?? 0;
  const requests = ratioOf(ours.total, kasm.total);
  const gets = ratioOf(oursGets, kasmGets);
  return [
    {
      id: "registry.requests",
      what: `refresh ${size} unchanged: registry requests`,
      measured: { value: ours.total, unit: "requests" },
      baseline: { value: kasm.total, unit: "requests", label },
      ...(requests === undefined ? {} : { ratio: requests }),
      notes: [
        `kasm-gitops (plan refresh through the real adapters): ${breakdown(ours)}`,
        `Kasm behaviour (docker pull of every image on every agent, ${KASM_PULLS_AT_ONCE} at a time, Docker ${docker}): ${breakdown(kasm)}`,
        sizes.bearer
          ? "the proxy demands Bearer tokens like Docker Hub (token requests counted); --open-registry for a registry without auth"
          : "open registry: no tokens",
        "agents beyond the lab's engines share an engine; each simulated agent's pulls are real engine pulls of an image it already holds",
      ],
    },
    {
      id: "registry.manifest-gets",
      what: `refresh ${size} unchanged: manifest GETs`,
      measured: { value: oursGets, unit: "GETs" },
      baseline: { value: kasmGets, unit: "GETs", label },
      ...(gets === undefined ? {} : { ratio: gets }),
      notes: [
        "Docker Hub counts manifest GETs as pulls against its rate limit; HEADs are free",
        `manifest HEADs: kasm-gitops ${heads(ours)}, Kasm behaviour ${heads(kasm)}`,
      ],
    },
    ...authLines(sizes, size, { ours, next, before }),
  ];
}

/** HEADs and token requests per refresh: a `plan`, the daemon's next refresh, and the unbatched client. */
function authLines(sizes: RegistrySizes, size: string, counts: Omit<Counts, "kasm">): FigureLine[] {
  const { ours, next, before } = counts;
  const label = sizes.bearer ? "unbatched: a 401 and a token per repository" : "unbatched";
  const perRefresh = (what: string, count: (s: ProxyStats) => number) =>
    `${what}: plan ${count(ours)}, daemon's next refresh ${count(next)}, ${label} ${count(before)}`;
  const headRatio = ratioOf(heads(ours), heads(before));
  const tokenRatio = ratioOf(tokens(ours), tokens(before));
  const pings = `pings (GET /v2/, which teaches a new client the scheme): plan ${ours.byKind.ping ?? 0}, daemon's next refresh ${next.byKind.ping ?? 0}`;
  return [
    {
      id: "registry.heads",
      what: `refresh ${size} unchanged: manifest HEADs`,
      measured: { value: heads(ours), unit: "requests" },
      baseline: { value: heads(before), unit: "requests", label },
      ...(headRatio === undefined ? {} : { ratio: headRatio }),
      target: atMost(Math.max(heads(ours), heads(next)), sizes.images, `1 per reference (${sizes.images})`),
      notes: [
        perRefresh("HEADs", heads),
        `the baseline is the same plan with the batch step withheld: each repository learns from its own 401, as every refresh did before`,
        pings,
      ],
    },
    {
      id: "registry.tokens",
      what: `refresh ${size} unchanged: token requests`,
      measured: { value: tokens(ours), unit: "requests" },
      baseline: { value: tokens(before), unit: "requests", label },
      ...(tokenRatio === undefined ? {} : { ratio: tokenRatio }),
      target: atMost(Math.max(tokens(ours), tokens(next)), 1, "≤ 1 per registry"),
      notes: [
        perRefresh("token requests", tokens),
        sizes.bearer
          ? "the daemon's next refresh reuses the token until its expires_in (300 s at the lab proxy)"
          : "open registry: no tokens",
      ],
    },
  ];
}
