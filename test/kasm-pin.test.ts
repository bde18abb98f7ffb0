/**
 * `kasm.pinDigest` end to end: the built CLI, the lab's real Docker engines and registry, and the Kasm
 * stand-in of the shared Kasm sync kit. The record's hash must be the very digest the agents hold.
 */
import { describe, expect, inject, it } from "vitest";
import { createDockerAgent } from "../src/adapters/docker-agent.js";
import { createKasmClient } from "../src/adapters/kasm-client.js";
import { parseImageReference } from "../src/core/image/reference.js";
import type { KasmUpdateAction } from "../src/core/plan/types.js";
import { pushRandomImage } from "../src/lab/push-image.js";
import { apply, chrome, fleet, kit, plan, record, useKasmSync, yaml } from "./helpers/kasm-sync.js";

const lab = inject("lab");
useKasmSync();

/** The RepoDigests of the image each lab agent holds under `reference`'s tag. */
async function heldDigests(reference: string): Promise<string[][]> {
  return Promise.all(
    lab.engines.slice(0, 2).map(async (engine, i) => {
      const images = await createDockerAgent({ name: `a${i + 1}`, host: engine.host }).listImages();
      return images.find((image) => image.repoTags.includes(reference))?.repoDigests ?? [];
    }),
  );
}

describe("kasm.pinDigest", () => {
  it("writes the digest the agents hold into hash, moves it with the tag at the switch, and puts an edit back", async () => {
    const f = await fleet();
    const ws = chrome(f.image("v1"), { kasm: { pinDigest: true } });
    await f.repo.commit({ "manifests/a.yaml": yaml([ws]) }, "pinned");
    const first = await plan(f);
    const create = first.actions.find((a) => a.type === "kasm-create");
    expect(create).toMatchObject({ record: { hash: expect.stringMatching(/@sha256:[0-9a-f]{64}$/) } });
    expect((await apply(f)).code).toBe(0);
    const hash = record("chrome")!.hash!;
    expect(hash.startsWith(`${parseImageReference(f.image("v1")).registry}/`)).toBe(true);
    // Kasm compares the hash with each agent's RepoDigests: both agents hold exactly that entry.
    for (const digests of await heldDigests(f.image("v1"))) expect(digests).toContain(hash);
    expect((await plan(f)).actions).toEqual([]);

    // The tag moves in the registry: the pull and the hash move together, the hash only after the pulls.
    const repository = parseImageReference(f.image("v1")).repository;
    await pushRandomImage({ url: kit.proxy.url, repository, tag: "v1" });
    const moved = await plan(f);
    const update = moved.actions.find((a): a is KasmUpdateAction => a.type === "kasm-update")!;
    const pulls = moved.actions.flatMap((a, i) => (a.type === "pull" ? [i] : []));
    expect(pulls).toHaveLength(2);
    expect(update).toMatchObject({
      reason: "changed",
      after: pulls,
      changes: [{ field: "hash", from: hash }],
    });
    expect((await apply(f)).code).toBe(0);
    const newHash = record("chrome")!.hash!;
    expect(newHash).not.toBe(hash);
    for (const digests of await heldDigests(f.image("v1"))) expect(digests).toContain(newHash);

    // An edit of the hash in Kasm is drift, put back; the next plan has nothing to do.
    const ui = createKasmClient({
      url: kit.kasm.url,
      apiKey: kit.kasm.apiKey,
      apiKeySecret: kit.kasm.apiKeySecret,
    });
    await ui.updateImage(record("chrome")!.image_id, { hash });
    const drift = (await plan(f)).actions.find((a): a is KasmUpdateAction => a.type === "kasm-update")!;
    expect(drift).toMatchObject({ reason: "drift", changes: [{ field: "hash", from: hash, to: newHash }] });
    expect((await apply(f)).code).toBe(0);
    expect(record("chrome")!.hash).toBe(newHash);
    expect((await plan(f)).actions).toEqual([]);
  });
});
