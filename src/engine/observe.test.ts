import { describe, expect, it } from "vitest";
import { parseImageReference } from "../core/image/reference.js";
import type { Clock, DockerAgent, RegistryClient } from "../ports.js";
import { type DigestQuery, observeAgents, resolveDigests } from "./observe.js";

const D = (c: string) => `sha256:${c.repeat(64)}`;

/** A real-time clock: the refresh deadline fires for real, in a few milliseconds. */
const clock: Clock = {
  now: () => new Date(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      signal?.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(signal.reason);
      });
    }),
};

type Prepare = "none" | "fine" | "fails" | "hangs";

/** A registry answering every HEAD with `digest`, whose batch step behaves as `prepare` says, and what it saw. */
function fakeRegistry(host: string, digest: string, prepare: Prepare) {
  const seen = { prepared: [] as string[][], heads: [] as string[] };
  const client: RegistryClient = {
    host,
    headDigest: async (ref) => {
      seen.heads.push(ref.canonical);
      return { digest, mediaType: "application/vnd.oci.image.manifest.v1+json" };
    },
    getManifest: () => Promise.reject(new Error("not used")),
    putManifest: () => Promise.reject(new Error("not used")),
    rateLimit: () => ({}),
  };
  if (prepare !== "none") {
    client.prepare = (refs, signal) => {
      seen.prepared.push(refs.map((r) => r.canonical));
      if (prepare === "fails") return Promise.reject(new Error("token service down"));
      if (prepare === "fine") return Promise.resolve();
      return new Promise((resolve) => signal?.addEventListener("abort", () => resolve()));
    };
  }
  return { client, seen };
}

const query = (image: string, registry: string): DigestQuery => ({
  ref: parseImageReference(image),
  registry,
});

describe("resolveDigests hands each registry its references first", () => {
  it.each<[string, Prepare, string[][]]>([
    ["prepare gets the registry's unique references, once", "fine", [["a.example/x:1", "a.example/y:1"]]],
    [
      "a failing prepare changes nothing: the HEADs still answer",
      "fails",
      [["a.example/x:1", "a.example/y:1"]],
    ],
    ["a client without prepare is asked as before", "none", []],
  ])("%s", async (_, prepare, prepared) => {
    const a = fakeRegistry("a.example", D("a"), prepare);
    const queries = [query("a.example/x:1", "a"), query("a.example/y:1", "a"), query("a.example/x:1", "a")];
    const results = await resolveDigests(queries, () => a.client, { clock });
    expect([...results.values()]).toEqual([{ digest: D("a") }, { digest: D("a") }]);
    expect(a.seen.prepared).toEqual(prepared);
    expect(a.seen.heads.sort()).toEqual(["a.example/x:1", "a.example/y:1"]);
  });

  it("a registry whose prepare hangs until the deadline holds up only its own references", async () => {
    const hung = fakeRegistry("hung.example", D("h"), "hangs");
    const fine = fakeRegistry("b.example", D("b"), "fine");
    const clients = new Map([
      ["hung", hung.client],
      ["b", fine.client],
    ]);
    const queries = [query("hung.example/x:1", "hung"), query("b.example/y:1", "b")];
    const results = await resolveDigests(queries, (name) => clients.get(name), { clock, deadlineMs: 50 });
    expect(results.get("b.example/y:1")).toEqual({ digest: D("b") });
    expect(results.get("hung.example/x:1")).toMatchObject({ code: "registry-timeout" });
    expect(hung.seen.heads).toEqual([]);
  });
});

/** An agent whose container list fails the way a Docker Engine refusing the call would. */
const agent = (containers: "ok" | "fails"): DockerAgent => ({
  name: "a1",
  listImages: async () => [],
  listContainers: async () => {
    if (containers === "fails") throw new Error("permission denied");
    return [];
  },
  removeImage: async () => ({ status: "removed" }) as never,
  imageBytes: async () => 0,
  pull: async () => ({}),
});

describe("observeAgents", () => {
  it.each<[string, "ok" | "fails", boolean, object]>([
    ["containers listed where pruning is on", "ok", true, { containers: [] }],
    ["a failed container list keeps its error", "fails", true, { containersError: "permission denied" }],
    ["no container list asked where pruning is off", "fails", false, {}],
  ])("%s", async (_, containers, pruning, expected) => {
    const [seen] = await observeAgents([agent(containers)], undefined, {
      ...(pruning ? { containersOf: new Set(["a1"]) } : {}),
    });
    expect(seen).toEqual({ agent: "a1", reachable: true, images: [], ...expected });
  });
});
