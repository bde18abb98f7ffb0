import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { systemClock } from "../src/adapters/clock.js";
import { createRegistryClient, type RegistryRequestInfo } from "../src/adapters/registry-client.js";
import { parseImageReference } from "../src/core/image/reference.js";
import type { RegistryManifest } from "../src/core/manifest/types.js";
import { checkUpdates, listAllTags } from "../src/engine/update/check.js";
import { pushRandomImage } from "../src/lab/push-image.js";
import { type RegistryProxy, startRegistryProxy } from "../src/lab/registry-proxy.js";
import { failure } from "./helpers/errors.js";
import { manifestSet, registry, workspace } from "./helpers/manifests.js";

const lab = inject("lab");
const { plain, auth } = lab.registries;
const RETRY = { attempts: 3, baseMs: 5, maxMs: 20 };
const TAGS = ["20261120", "20261201", "20261206", "latest", "1.16.0", "1.17.0-rc.1", "1.17.0"];

/** Pushes one image and tags it under every name in `tags` (one blob upload, one manifest PUT per tag). */
async function repositoryWith(
  url: string,
  tags: readonly string[],
  credentials?: { username: string; password: string },
) {
  const repository = `tags/r-${randomBytes(4).toString("hex")}`;
  const pushed = await pushRandomImage({
    url,
    repository,
    tag: tags[0]!,
    ...(credentials ? { auth: credentials } : {}),
  });
  const host = new URL(url).host;
  const client = createRegistryClient({ host, insecure: true, ...(credentials ? { credentials } : {}) });
  const ref = parseImageReference(`${host}/${repository}:${tags[0]}`);
  const manifest = await client.getManifest(ref, pushed.digest);
  for (const tag of tags.slice(1)) await client.putManifest(ref, tag, manifest.body, manifest.mediaType);
  return { repository, digest: pushed.digest };
}

const counting = (host: string, credentials?: { username: string; password: string }) => {
  const requests: RegistryRequestInfo[] = [];
  const client = createRegistryClient({
    host,
    insecure: true,
    ...(credentials ? { credentials } : {}),
    onRequest: (info) => requests.push(info),
  });
  return { client, requests };
};

describe("listing tags on the lab's Debian registries", () => {
  it("the plain registry: every tag in one GET", async () => {
    const { repository } = await repositoryWith(plain.url, TAGS);
    const { client, requests } = counting(plain.host);
    const tags = await listAllTags(client, parseImageReference(`${plain.host}/${repository}:x`), {
      clock: systemClock,
    });
    expect(tags.sort()).toEqual([...TAGS].sort());
    expect(requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      `GET /v2/${repository}/tags/list 200`,
    ]);
  });

  it("the htpasswd registry: with its credentials, and a clear error without them", async () => {
    const credentials = auth.auth!;
    const { repository } = await repositoryWith(auth.url, TAGS.slice(0, 3), credentials);
    const ref = parseImageReference(`${auth.host}/${repository}:x`);
    const { client, requests } = counting(auth.host, credentials);
    expect((await listAllTags(client, ref, { clock: systemClock })).sort()).toEqual(TAGS.slice(0, 3).sort());
    // One 401 teaches the client Basic; every later request sends the credentials up front.
    expect(requests.map((r) => r.status)).toEqual([401, 200]);
    await listAllTags(client, ref, { clock: systemClock });
    expect(requests.map((r) => r.status)).toEqual([401, 200, 200]);
    const anonymous = createRegistryClient({ host: auth.host, insecure: true });
    const error = await failure(listAllTags(anonymous, ref, { clock: systemClock, retry: RETRY }));
    expect(error.code).toBe("registry-unauthorized");
    expect(error.message).toContain("no credentials were sent");
  });

  it("an unknown repository is registry-not-found naming the repository", async () => {
    const { client } = counting(plain.host);
    const error = await failure(
      listAllTags(client, parseImageReference(`${plain.host}/tags/nothing-here:x`), { clock: systemClock }),
    );
    expect(error.code).toBe("registry-not-found");
    expect(error.message).toContain(`repository tags/nothing-here not found on ${plain.host}`);
  });
});

describe("pages of tags (the lab proxy paginates as distribution 3 and Docker Hub do)", () => {
  let proxy: RegistryProxy;
  beforeAll(async () => {
    proxy = await startRegistryProxy({ upstream: plain.url, behaviour: { paginateTags: true } });
  });
  afterAll(() => proxy.close());

  it("follows Link from page to page, with n, and retries a page the registry refused for a moment", async () => {
    const { repository } = await repositoryWith(plain.url, TAGS);
    const ref = parseImageReference(`${proxy.host}/${repository}:x`);
    proxy.reset();
    let seen = 0;
    const secondPage = (facts: { kind: string }) => facts.kind === "tags" && ++seen === 2;
    proxy.setBehaviour({
      inject: [{ match: secondPage, status: 429, headers: { "retry-after": "0" }, times: 1 }],
    });
    const { client, requests } = counting(proxy.host);
    const tags = await listAllTags(client, ref, { clock: systemClock, retry: RETRY, pageSize: 3 });
    expect(tags).toEqual([...TAGS].sort());
    // 7 tags in pages of 3: three pages, the second asked twice (429, then 200).
    expect(requests.map((r) => r.status)).toEqual([200, 429, 200, 200]);
    expect(proxy.requests.filter((r) => r.kind === "tags").map((r) => r.status)).toEqual([
      200, 429, 200, 200,
    ]);
  });

  it("checkUpdates: one listing per repository however many Workspaces share it, one HEAD per candidate", async () => {
    const { repository, digest } = await repositoryWith(plain.url, TAGS);
    const reg: RegistryManifest = registry("lab", proxy.host);
    const image = (tag: string) => `${proxy.host}/${repository}:${tag}`;
    const dated = { policy: "numerical" as const, filter: { pattern: "^(?P<ts>\\d{8})$", extract: "$ts" } };
    const set = manifestSet({
      registries: [reg],
      workspaces: [
        workspace("dated", { image: image("20261201"), registry: "lab", update: dated }),
        workspace("semver", {
          image: image("1.16.0"),
          registry: "lab",
          update: { policy: "semver", range: ">=1.16 <2" },
        }),
        workspace("newest", { image: image("20261206"), registry: "lab", update: dated }),
        workspace("rc", {
          image: image("1.16.0"),
          registry: "lab",
          update: { policy: "semver", range: ">=1.17.0-rc.0 <1.17.0" },
        }),
      ],
    });
    proxy.reset();
    proxy.setBehaviour({ inject: [] });
    const clients = new Map<string, ReturnType<typeof counting>>();
    const findings = await checkUpdates(
      set,
      {
        clock: systemClock,
        retry: RETRY,
        registryFor: async (m) => {
          if (!clients.has(m.metadata.name)) clients.set(m.metadata.name, counting(m.spec.host));
          return { client: clients.get(m.metadata.name)!.client };
        },
      },
      { pageSize: 4 },
    );
    expect(
      findings.map((f) => [f.workspace, f.status, "tag" in f ? f.tag : "newest" in f ? f.newest : ""]),
    ).toEqual([
      ["dated", "candidate", "20261206"],
      ["semver", "candidate", "1.17.0"],
      ["newest", "up-to-date", "20261206"],
      ["rc", "candidate", "1.17.0-rc.1"],
    ]);
    const dated1 = findings[0]!;
    expect(dated1).toMatchObject({
      image: image("20261206"),
      digest,
      previousTag: "20261201",
      previousDigest: digest,
    });
    // Two pages of tags for the one repository, then one HEAD per candidate tag and per tag in Git they leave.
    const kinds = proxy.requests.map(
      (r) => `${r.kind}${r.kind === "tags" ? "" : ` ${r.path.split("/").pop()}`}`,
    );
    expect(kinds.filter((k) => k === "tags")).toHaveLength(2);
    expect(kinds.filter((k) => k.startsWith("manifest-head")).sort()).toEqual(
      ["1.16.0", "1.17.0", "1.17.0-rc.1", "20261201", "20261206"].map((t) => `manifest-head ${t}`),
    );
  });
});
