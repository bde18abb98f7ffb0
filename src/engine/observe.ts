import { describeError, KasmGitopsError } from "../core/errors.js";
import type { ImageReference } from "../core/image/reference.js";
import type { AgentObservation } from "../core/plan/plan.js";
import type { DigestResult } from "../core/plan/promotion.js";
import { DEFAULT_RETRY, type RetryPolicy, withRetry } from "../core/retry.js";
import type { Clock, DockerAgent, RegistryClient } from "../ports.js";

/** What to read besides the image list: containers where pruning is on, disk usage for the daemon's status. */
export type ObserveOptions = { containersOf?: ReadonlySet<string>; diskUsage?: boolean };

/**
 * Lists every agent's images in parallel; an unreachable agent becomes an observation, not a failure.
 * Containers and disk usage that cannot be read stay undefined (unknown), and the planner prunes nothing there.
 */
export async function observeAgents(
  agents: readonly DockerAgent[],
  signal?: AbortSignal,
  options: ObserveOptions = {},
): Promise<AgentObservation[]> {
  return Promise.all(
    agents.map(async (agent): Promise<AgentObservation> => {
      try {
        let containersError: string | undefined;
        const [images, containers, imageBytes] = await Promise.all([
          agent.listImages(signal),
          options.containersOf?.has(agent.name)
            ? agent.listContainers(signal).then(
                (list) => list.map((c) => c.imageId),
                (error: unknown) => {
                  containersError = describeError(error);
                  return undefined;
                },
              )
            : undefined,
          options.diskUsage ? agent.imageBytes(signal).catch(() => undefined) : undefined,
        ]);
        return {
          agent: agent.name,
          reachable: true,
          images,
          ...(containers ? { containers } : {}),
          ...(containersError ? { containersError } : {}),
          ...(imageBytes !== undefined ? { imageBytes } : {}),
        };
      } catch (error) {
        return { agent: agent.name, reachable: false, error: describeError(error) };
      }
    }),
  );
}

/** Runs `items` through `worker` with at most `limit` in flight. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, worker: (item: T) => Promise<R>) {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await worker(items[i]!);
    }
  });
  await Promise.all(lanes);
  return results;
}

export type DigestQuery = { ref: ImageReference; registry: string };

/** How long a whole refresh may take unless `--registry-timeout` says otherwise. */
export const DEFAULT_REGISTRY_TIMEOUT_MS = 30_000;

/** The answer for a reference the deadline cut off: it names the registry that did not answer. */
const timedOut = (query: DigestQuery, deadlineMs: number): DigestResult => ({
  error: `registry "${query.registry}" did not answer within ${deadlineMs / 1000} s (--registry-timeout), so ${query.ref.canonical} was not checked`,
  code: "registry-timeout",
});

/**
 * One HEAD per unique reference, shared by every agent that wants it (docs/architecture.md), with transient
 * failures retried, all within one deadline: a hung registry costs at most `deadlineMs`, not every retry's
 * timeout. A reference the registry cannot answer becomes an error result, not an exception.
 */
export async function resolveDigests(
  queries: readonly DigestQuery[],
  registryFor: (name: string) => RegistryClient | undefined,
  options: {
    clock: Clock;
    retry?: RetryPolicy;
    concurrency?: number;
    signal?: AbortSignal;
    deadlineMs?: number;
  },
): Promise<Map<string, DigestResult>> {
  const unique = new Map(queries.map((q) => [q.ref.canonical, q]));
  const deadlineMs = options.deadlineMs ?? DEFAULT_REGISTRY_TIMEOUT_MS;
  const deadline = new AbortController();
  const done = new AbortController();
  if (unique.size > 0) {
    options.clock.sleep(deadlineMs, done.signal).then(
      () => deadline.abort(),
      () => undefined,
    );
  }
  const signal = options.signal ? AbortSignal.any([options.signal, deadline.signal]) : deadline.signal;
  const cutOff = () => deadline.signal.aborted && !options.signal?.aborted;
  try {
    const prepared = prepareClients([...unique.values()], registryFor, signal);
    const entries = await mapLimit([...unique.values()], options.concurrency ?? 8, async (query) => {
      const client = registryFor(query.registry);
      if (!client) {
        const result: DigestResult = {
          error: `no Registry named "${query.registry}"`,
          code: "registry-error",
        };
        return [query.ref.canonical, result] as const;
      }
      // Only its own registry's batch step is waited for: a registry that hangs holds no other registry's references.
      await prepared.get(client);
      if (cutOff()) return [query.ref.canonical, timedOut(query, deadlineMs)] as const;
      try {
        const { value } = await withRetry(() => client.headDigest(query.ref, signal), {
          policy: options.retry ?? DEFAULT_RETRY,
          clock: options.clock,
          signal,
          waitFor: () => client.rateLimit().retryAfterMs,
        });
        return [query.ref.canonical, { digest: value.digest } as DigestResult] as const;
      } catch (error) {
        if (cutOff()) return [query.ref.canonical, timedOut(query, deadlineMs)] as const;
        const code = error instanceof KasmGitopsError ? error.code : "registry-error";
        return [query.ref.canonical, { error: describeError(error), code } as DigestResult] as const;
      }
    });
    return new Map(entries);
  } finally {
    done.abort();
  }
}

/**
 * Hands each registry client the whole set of references it is about to check, all at once, so it can learn
 * its auth scheme once and ask for one token carrying every repository's scope instead of one per repository.
 * Returns each client's batch step, settled either way, for its own references to wait on.
 */
function prepareClients(
  queries: readonly DigestQuery[],
  registryFor: (name: string) => RegistryClient | undefined,
  signal: AbortSignal,
): Map<RegistryClient, Promise<void>> {
  const byClient = new Map<RegistryClient, ImageReference[]>();
  for (const query of queries) {
    const client = registryFor(query.registry);
    if (!client?.prepare) continue;
    const refs = byClient.get(client);
    if (refs) refs.push(query.ref);
    else byClient.set(client, [query.ref]);
  }
  const prepared = new Map<RegistryClient, Promise<void>>();
  for (const [client, refs] of byClient) {
    prepared.set(client, client.prepare?.(refs, signal).catch(() => undefined) ?? Promise.resolve());
  }
  return prepared;
}
