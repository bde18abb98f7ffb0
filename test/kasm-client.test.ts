import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createKasmClient, type KasmCallInfo, type KasmClientOptions } from "../src/adapters/kasm-client.js";
import { createKasmApi } from "../src/app.js";
import type { KasmGitopsError } from "../src/core/errors.js";
import { secretPolicy } from "../src/core/manifest/secret-policy.js";
import { API_VERSION, type KasmServerManifest } from "../src/core/manifest/types.js";
import { type KasmStandIn, startKasmStandIn } from "../src/lab/kasm-stand-in.js";
import { waitFor } from "../src/lab/processes.js";
import type { KasmApi } from "../src/ports.js";
import { failure } from "./helpers/errors.js";
import { KASM_FACTS } from "./helpers/kasm-facts.js";
import { startTlsFront, type TlsFront } from "./helpers/tls-front.js";

const TOKEN = "registry-token-7f3e9a";
const FAST_RETRY = { attempts: 3, baseMs: 1, maxMs: 2 };

let kasm: KasmStandIn;
let client: KasmApi;
/** Every error any test saw: none may carry the key, the secret or the registry token. */
const seen: KasmGitopsError[] = [];
const caught = async (promise: Promise<unknown>) => {
  const error = await failure(promise);
  seen.push(error);
  return error;
};
const clientFor = (options: Partial<KasmClientOptions> = {}) =>
  createKasmClient({
    url: kasm.url,
    apiKey: kasm.apiKey,
    apiKeySecret: kasm.apiKeySecret,
    name: "kasm",
    retry: FAST_RETRY,
    ...options,
  });
const fnsCalled = () => kasm.calls().map((c) => c.fn);
const bodyOf = (fn: string) => kasm.calls().find((c) => c.fn === fn)?.body as Record<string, unknown>;
const groupId = async (name: string) => (await client.listGroups()).find((g) => g.name === name)!.groupId;

beforeAll(async () => {
  kasm = await startKasmStandIn();
  client = clientFor();
});
afterEach(() => {
  kasm.reset();
  kasm.clearCalls();
});
afterAll(async () => {
  await kasm?.close();
});

const CHROME = {
  name: "registry.example.com:5000/kasm/chrome:20261127",
  friendlyName: "Chrome",
  description: "Chrome browser",
  thumbnail: "img/thumbnails/chrome.png",
  categories: ["Browser", "Dev"],
  cores: 2,
  memory: 2_768_000_000,
  enabled: true,
  hidden: false,
  runConfig: { hostname: "kasm" },
  execConfig: {},
  volumeMappings: { "/mnt/share": { bind: "/share", mode: "rw" } },
  notes: "managed-by: kasm-gitops/chrome",
};

describe("Kasm client against the stand-in", () => {
  it("creates a record, encoding categories, configs and memory as Kasm wants, and lists it back as ours", async () => {
    const created = await client.createImage(CHROME);
    expect(created.imageId).toMatch(/^[0-9a-f]{32}$/);
    const sent = (bodyOf("create_image").target_image ?? {}) as Record<string, unknown>;
    expect(sent).toMatchObject({
      categories: "Browser\nDev",
      run_config: '{"hostname":"kasm"}',
      exec_config: "{}",
      memory: 2_768_000_000,
      image_src: "img/thumbnails/chrome.png",
    });
    const listed = (await client.readImages()).records.find((i) => i.imageId === created.imageId);
    expect(listed).toMatchObject({ ...CHROME, imageId: created.imageId, dockerTokenSet: false });
    expect(kasm.state().images.find((i) => i.image_id === created.imageId)).toMatchObject({
      categories: ["Browser", "Dev"],
      memory: 2_768_000_000,
    });
  });

  it("lists groups, and a new record's rows in All Users", async () => {
    const created = await client.createImage(CHROME);
    const groups = await client.listGroups();
    expect(groups.map((g) => g.name).sort()).toEqual(["Administrators", "All Users"]);
    const rows = await client.listGroupImages(await groupId("All Users"));
    expect(rows.filter((r) => r.imageId === created.imageId)).toHaveLength(1);
  });

  it("updates only the fields it is given, keeping every other field and the stored token", async () => {
    kasm.seed({
      images: [
        {
          image_id: "0123456789abcdef0123456789abcdef",
          name: "registry.example.com:5000/kasm/chrome:1",
          friendly_name: "Chrome",
          description: "old",
          docker_registry: "https://registry.example.com:5000",
          docker_user: "ci-bot",
          docker_token: TOKEN,
          x_res: 1920,
          y_res: 1080,
          persistent_profile_path: "/profiles/{username}",
          categories: ["Browser"],
          run_config: '{"hostname":"old"}',
          cores: 1,
          memory: 1_000_000_000,
        },
      ],
    });
    const before = kasm.state().images[0]!;
    const updated = await client.updateImage("0123456789abcdef0123456789abcdef", {
      name: "registry.example.com:5000/kasm/chrome:2",
      description: "new",
      memory: 536_870_912,
    });
    expect(updated).toMatchObject({ description: "new", dockerTokenSet: true, categories: ["Browser"] });
    const after = kasm.state().images[0]!;
    expect(after).toEqual({
      ...before,
      name: "registry.example.com:5000/kasm/chrome:2",
      description: "new",
      memory: 536_870_912,
    });
    expect(after.docker_token).toBe(TOKEN);
    // Read just before the write, sent whole, read-only keys stripped, the masked token sent back.
    expect(fnsCalled()).toEqual(["get_images", "update_image"]);
    const sent = bodyOf("update_image").target_image as Record<string, unknown>;
    expect(sent.docker_token).toBe("**********");
    for (const key of ["available", "zone_name", "image_attributes", "created"])
      expect(sent).not.toHaveProperty(key);
    expect(sent).toMatchObject({ x_res: 1920, categories: "Browser", run_config: '{"hostname":"old"}' });
  });

  it("replaces or clears the registry token only when told to", async () => {
    const created = await client.createImage({ ...CHROME, dockerToken: TOKEN });
    expect(created.dockerTokenSet).toBe(true);
    await client.updateImage(created.imageId, { dockerToken: "another-token-123" });
    expect(kasm.state().images[0]!.docker_token).toBe("another-token-123");
    await client.updateImage(created.imageId, { dockerToken: null });
    expect(kasm.state().images[0]!.docker_token || null).toBeNull();
    expect((await client.readImages()).records[0]!.dockerTokenSet).toBe(false);
  });

  it("adds a group pair once however often it is asked, and removes it", async () => {
    kasm.seed({ groups: [{ name: "qa" }] });
    const created = await client.createImage(CHROME);
    const qa = await groupId("qa");
    expect(await client.addImageToGroup(qa, created.imageId)).toBe(true);
    expect(await client.addImageToGroup(qa, created.imageId)).toBe(false);
    expect(kasm.state().groupImages.filter((r) => r.group_id === qa)).toHaveLength(1);
    expect(kasm.writes().filter((c) => c.fn === "add_images_group")).toHaveLength(1);
    expect(await client.removeImageFromGroup(qa, created.imageId)).toBe(true);
    expect(await client.removeImageFromGroup(qa, created.imageId)).toBe(false);
    expect(kasm.state().groupImages.filter((r) => r.group_id === qa)).toEqual([]);
    expect(kasm.writes().filter((c) => c.fn === "remove_images_group")).toHaveLength(1);
  });

  it("deletes a record, and says clearly when Kasm refuses because a session uses it", async () => {
    const created = await client.createImage(CHROME);
    kasm.setSessions(created.imageId, 2);
    const error = await caught(client.deleteImage(created.imageId));
    expect(error.code).toBe("kasm-refused");
    expect(error.message).toMatch(
      /delete_image was refused: Image \(Chrome\): ID \(\w+\) currently has \(2\) associated Kasm\(s\) and cannot be deleted$/,
    );
    expect(error.context).toMatchObject({ fn: "delete_image", status: 200 });
    expect(kasm.state().images).toHaveLength(1);
    kasm.setSessions(created.imageId, 0);
    await client.deleteImage(created.imageId);
    expect((await client.readImages()).records).toEqual([]);
  });

  it("reports a validation failure (HTTP 200 + error_message) as a refusal, not a success", async () => {
    kasm.seed({ groups: [{ name: "qa" }] });
    const created = await client.createImage(CHROME);
    kasm.clearCalls();
    const error = await caught(
      client.removeImageFromGroup("ffffffffffffffffffffffffffffffff", created.imageId),
    );
    expect(error.code).toBe("kasm-refused");
    expect(error.message).toMatch(/^Kasm http:\/\/127\.0\.0\.1:\d+ get_images_group was refused: /);
    expect(fnsCalled()).toEqual(["get_images_group"]);
  });

  it("a value Kasm ignores is a write that did not take, naming the field, not a success", async () => {
    const created = await client.createImage(CHROME);
    const error = await caught(client.updateImage(created.imageId, { cores: 0, description: "" }));
    expect(error.code).toBe("kasm-not-taken");
    expect(error.context).toMatchObject({
      fn: "update_image",
      imageId: created.imageId,
      fields: ["description", "cores"],
    });
    expect(error.message).toMatch(
      /update_image: Kasm answered without taking description, cores of record \w+/,
    );
    expect(kasm.state().images[0]).toMatchObject({ cores: 2, description: "Chrome browser" });
  });

  it("says an update has no record to update once it is gone", async () => {
    const error = await caught(client.updateImage("ffffffffffffffffffffffffffffffff", { description: "x" }));
    expect(error.code).toBe("kasm-not-found");
    expect(kasm.writes()).toEqual([]);
  });

  it("never sends back a key Kasm returns but its write function does not take", async () => {
    // A newer Kasm returning a derived key this client does not know: sending it back would be an HTML 500.
    kasm.seed({
      images: [
        { image_id: "0123456789abcdef0123456789abcdef", name: "a:1", cores: 1, launch_stats: 3 } as never,
      ],
    });
    const updated = await client.updateImage("0123456789abcdef0123456789abcdef", { description: "x" });
    expect(updated.description).toBe("x");
    const target = bodyOf("update_image").target_image as Record<string, unknown>;
    expect(Object.keys(target).filter((k) => !KASM_FACTS.image.writeKeys.includes(k))).toEqual([]);
  });

  it("reports an HTML 500 as Kasm failing with an unhandled error, naming the keys sent, without retrying", async () => {
    // A value Kasm holds that its write function cannot convert back (not a number where it wants one).
    kasm.seed({
      images: [{ image_id: "0123456789abcdef0123456789abcdef", name: "a:1", cores: "many" } as never],
    });
    const error = await caught(client.updateImage("0123456789abcdef0123456789abcdef", { description: "x" }));
    expect(error.code).toBe("kasm-rejected-request");
    expect(error.message).toMatch(
      /update_image: Kasm failed with an unhandled error \(HTTP 500, an error page: text\/html\): its log says why; the request's target_image carried .*\bcores\b/,
    );
    expect(error.message).not.toContain("many");
    expect(fnsCalled()).toEqual(["get_images", "update_image"]);
  });

  it("tells a wrong key or secret (403) from an expired key or missing permission (401)", async () => {
    const wrong = await caught(clientFor({ apiKeySecret: "not-the-secret-123" }).readImages());
    expect(wrong.code).toBe("kasm-forbidden");
    expect(wrong.message).toMatch(
      /HTTP 403.*the API key or secret is wrong.*spec\.apiKey and spec\.apiKeySecret of KasmServer "kasm"/,
    );

    kasm.setReadOnly(true);
    const permission = await caught(client.createImage(CHROME));
    expect(permission.code).toBe("kasm-unauthorized");
    expect(permission.message).toMatch(
      /HTTP 401\): the API key has expired or lacks a permission \(Kasm says: Unauthorized\)/,
    );
    kasm.setReadOnly(false);

    kasm.expireKey();
    const expired = await caught(client.readImages());
    expect(expired.code).toBe("kasm-unauthorized");
    expect(expired.message).toMatch(
      /HTTP 401.*expired or lacks a permission \(Kasm says: .*expired\).*extend its expiry/,
    );
    // Neither is retried: a human has to act.
    expect(fnsCalled()).toEqual(["get_images", "create_image", "get_images"]);
  });
});

describe("Kasm client transport", () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
    server = undefined;
  });
  /** A loopback server answering every request with `answer` (or never, when it returns undefined). */
  const serve = async (
    answer: (count: number) => { status: number; type: string; body: string } | undefined,
  ) => {
    let count = 0;
    server = createServer((req, res) => {
      req.resume();
      const reply = answer(++count);
      if (!reply) return;
      res.writeHead(reply.status, { "content-type": reply.type });
      res.end(reply.body);
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  const at = (url: string, calls: KasmCallInfo[], options: Partial<KasmClientOptions> = {}) =>
    createKasmClient({
      url,
      apiKey: "key-0123",
      apiKeySecret: "secret-4567",
      retry: FAST_RETRY,
      onCall: (info) => calls.push(info),
      ...options,
    });

  const standInClient = (calls: KasmCallInfo[], options: Partial<KasmClientOptions> = {}) =>
    clientFor({ onCall: (info) => calls.push(info), ...options });

  it("retries reads on 502/503/504 and succeeds once Kasm answers", async () => {
    kasm.addFault({ fn: "get_groups", status: 503 });
    kasm.addFault({ fn: "get_groups", status: 502 });
    const calls: KasmCallInfo[] = [];
    expect(await standInClient(calls).listGroups()).toHaveLength(2);
    expect(calls.map((c) => c.status)).toEqual([503, 502, 200]);
  });

  it("gives up after the attempts with a transient kasm-unavailable, and never retries a create", async () => {
    kasm.addFault({ status: 504, count: 4 });
    const calls: KasmCallInfo[] = [];
    const client = standInClient(calls);
    const read = await caught(client.readImages());
    expect(read).toMatchObject({ code: "kasm-unavailable", context: { transient: true, status: 504 } });
    expect(read.message).toMatch(/get_images: Kasm is unavailable \(HTTP 504\)/);
    expect(calls).toHaveLength(3);
    const create = await caught(client.createImage(CHROME));
    expect(create.code).toBe("kasm-unavailable");
    expect(calls).toHaveLength(4);
  });

  it("times out a Kasm that does not answer in time once: no retry, and no later call of that cycle waits again", async () => {
    kasm.addFault({ fn: "get_groups", delayMs: 300, count: 3 });
    const calls: KasmCallInfo[] = [];
    const hung = standInClient(calls, { timeoutMs: 100 });
    const error = await caught(hung.listGroups());
    expect(error.code).toBe("kasm-unavailable");
    expect(error.message).toMatch(/get_groups: cannot reach Kasm: no answer within 100 ms/);
    expect(calls.map((c) => c.status)).toEqual([0]);
    const later = await caught(hung.readImages());
    expect(later.message).toMatch(
      /get_images: not asked, since get_groups: cannot reach Kasm: no answer within 100 ms/,
    );
    expect(calls).toHaveLength(1);
  });

  it("does not repeat a create whose answer was lost, so Kasm holds one record", async () => {
    kasm.addFault({ fn: "create_image", delayMs: 300 });
    const error = await caught(standInClient([], { timeoutMs: 100 }).createImage(CHROME));
    expect(error.code).toBe("kasm-unavailable");
    // The stand-in finishes the call after the client gave up on it.
    await waitFor(
      "the delayed create_image",
      async () => kasm.calls().some((c) => c.fn === "create_image"),
      10_000,
    );
    expect(kasm.state().images).toHaveLength(1);
    expect(kasm.calls().filter((c) => c.fn === "create_image")).toHaveLength(1);
  });

  it("reports a refused connection as unavailable", async () => {
    const url = await serve(() => undefined);
    server!.close();
    server!.closeAllConnections();
    const calls: KasmCallInfo[] = [];
    const error = await failure(at(url, calls).readImages());
    expect(error.code).toBe("kasm-unavailable");
    expect(error.message).toMatch(/cannot reach Kasm: .*ECONNREFUSED/);
    expect(calls).toHaveLength(3);
  });

  it("says a 200 that is not JSON is not Kasm's API", async () => {
    const url = await serve(() => ({ status: 200, type: "text/html", body: "<html>Sign in</html>" }));
    const error = await failure(at(url, []).readImages());
    expect(error.code).toBe("kasm-error");
    expect(error.message).toMatch(/the answer is not JSON \(text\/html\): check that spec\.url/);
  });

  it("blanks the key and secret when Kasm echoes them in an error", async () => {
    const url = await serve(() => ({
      status: 200,
      type: "application/json",
      body: JSON.stringify({ error_message: "bad request for key key-0123 with secret secret-4567" }),
    }));
    const error = await failure(at(url, []).readImages());
    expect(error.code).toBe("kasm-refused");
    expect(`${error.message} ${JSON.stringify(error.context)} ${error.stack}`).not.toMatch(
      /key-0123|secret-4567/,
    );
    expect(error.message).toContain("[redacted]");
  });
});

describe("createKasmApi (src/app.ts)", () => {
  let dir: string;
  let front: TlsFront | undefined;
  afterAll(async () => {
    await front?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("resolves the key references and trusts tls.ca for an https Kasm, and says how when it is missing", async () => {
    const stand = await startKasmStandIn();
    try {
      dir = await mkdtemp("/tmp/kg-kasm-tls-");
      // TLS in front of the stand-in, with a certificate signed by the lab's own CA.
      front = await startTlsFront(stand.url, dir);
      await writeFile(join(dir, "api-key"), `${stand.apiKey}\n`);
      const manifest: KasmServerManifest = {
        apiVersion: API_VERSION,
        kind: "KasmServer",
        metadata: { name: "kasm" },
        spec: {
          url: front.url,
          apiKey: { file: join(dir, "api-key") },
          apiKeySecret: { env: "KASM_SECRET_T" },
          tls: { ca: { file: join(dir, "ca.pem") } },
        },
        source: { file: "kasm.yaml", line: 1, col: 1 },
      };
      const env = { KASM_SECRET_T: stand.apiKeySecret };
      const calls: KasmCallInfo[] = [];
      const policy = secretPolicy({ dirs: [dir] }, {});
      const api = await createKasmApi(manifest, env, policy, { onCall: (c) => calls.push(c) });
      expect((await api.listGroups()).map((g) => g.name).sort()).toEqual(["Administrators", "All Users"]);
      expect(calls.map((c) => [c.fn, c.status])).toEqual([["get_groups", 200]]);

      const { tls: _tls, ...withoutCa } = manifest.spec;
      const untrusted = await createKasmApi({ ...manifest, spec: withoutCa }, env, policy, {
        retry: FAST_RETRY,
      });
      const error = await failure(untrusted.listGroups());
      expect(error.code).toBe("kasm-error");
      expect(error.message).toMatch(/certificate is not trusted .*set spec\.tls\.ca of KasmServer "kasm"/);

      const missing = await failure(createKasmApi(manifest, {}, policy));
      expect(missing.code).toBe("secret-unresolved");
      expect(missing.message).toMatch(/\{env: KASM_SECRET_T\}.*not set/);
    } finally {
      await stand.close();
    }
  });
});

describe("secrets", () => {
  it("never puts the key, the secret or a registry token in an error", async () => {
    await client.createImage({ ...CHROME, dockerToken: TOKEN });
    expect(seen.length).toBeGreaterThanOrEqual(10);
    const secrets = [kasm.apiKey, kasm.apiKeySecret, TOKEN];
    for (const error of seen) {
      let text = `${error.message}\n${error.stack}\n${JSON.stringify(error.context)}`;
      for (let cause = error.cause; cause instanceof Error; cause = cause.cause)
        text += `\n${cause.message}\n${cause.stack}`;
      for (const secret of secrets) expect(text).not.toContain(secret);
    }
  });
});
