import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { dockerConnection } from "../src/adapters/docker-host.js";
import { type KasmStandIn, startKasmStandIn } from "../src/lab/kasm-stand-in.js";
import { waitFor } from "../src/lab/processes.js";
import { pushRandomImage } from "../src/lab/push-image.js";
import { uniqueRepo } from "./helpers/fleet.js";

/** The stand-in's sessions on the lab's engines: real containers from the record's image, watched by Docker. */
let kasm: KasmStandIn;
let docker: Docker;
const images = {} as Record<"stays" | "exits", string>;
const api = async (fn: string, body: Record<string, unknown> = {}) => {
  const response = await fetch(`${kasm.url}/api/public/${fn}`, {
    method: "POST",
    body: JSON.stringify({ api_key: kasm.apiKey, api_key_secret: kasm.apiKeySecret, ...body }),
  });
  const text = await response.text();
  const json = response.headers.get("content-type")?.includes("json") ? JSON.parse(text) : { html: text };
  return { status: response.status, json: json as Record<string, unknown> };
};
const sessionContainers = () =>
  docker.listContainers({ all: true, filters: { label: ["org.kasm-gitops.lab.kasm"] } });
let userId: string;

beforeAll(async () => {
  const lab = inject("lab");
  const engine = lab.engines[0]!.host;
  docker = new Docker(dockerConnection(engine));
  for (const run of ["stays", "exits"] as const) {
    const pushed = await pushRandomImage(
      { url: lab.registries.plain.url, repository: uniqueRepo(`session-${run}`), tag: "v1" },
      undefined,
      run,
    );
    await new Promise((resolve, reject) =>
      docker.pull(pushed.reference, (error: Error | null, stream: NodeJS.ReadableStream) =>
        error ? reject(error) : docker.modem.followProgress(stream, resolve),
      ),
    );
    images[run] = pushed.reference;
  }
  kasm = await startKasmStandIn({
    seed: {
      users: [{ username: "smoke" }],
      images: [
        { image_id: "good", name: images.stays, friendly_name: "good" },
        { image_id: "bad", name: images.exits, friendly_name: "bad" },
        { image_id: "absent", name: `${images.stays}-absent`, friendly_name: "absent" },
      ],
      servers: [
        { hostname: "agent-1", engine, docker_images: { x: { tags: [images.stays, images.exits] } } },
      ],
    },
  });
  userId = ((await api("get_user", { target_user: { username: "smoke" } })).json.user as { user_id: string })
    .user_id;
});
afterAll(async () => {
  await kasm?.close();
  // The stand-in removes its session containers when it closes.
  expect(await sessionContainers()).toEqual([]);
});

/** Polls get_kasm_status until it answers a `kasm`, or `ms` pass. */
async function untilKasm(kasmId: string, ms = 20_000) {
  let last: Record<string, unknown> = {};
  await waitFor(
    `session ${kasmId} reported running or stopped`,
    async () => {
      last = (await api("get_kasm_status", { kasm_id: kasmId, user_id: userId })).json;
      return "kasm" in last;
    },
    ms,
  );
  return last.kasm as Record<string, unknown>;
}

describe("the stand-in's sessions on a lab engine", () => {
  it("a good image runs in a real container, reported running only when Docker says so, and destroy removes it", async () => {
    const requested = (await api("request_kasm", { image_id: "good", user_id: userId })).json;
    expect(requested.status).toBe("starting");
    const kasmId = requested.kasm_id as string;
    const first = (await api("get_kasm_status", { kasm_id: kasmId, user_id: userId })).json;
    expect(first).toEqual({ error_message: "This session is currently starting." });
    const session = await untilKasm(kasmId);
    expect(session.operational_status).toBe("running");
    const container = await docker.getContainer(session.container_id as string).inspect();
    expect(container.State.Running).toBe(true);
    expect(container.Config.Image).toBe(images.stays);
    expect((await api("get_kasms")).json.kasms).toHaveLength(1);
    // A destroy that fails once (the proxy's 502): nothing destroyed, and the repeat succeeds.
    kasm.addFault({ fn: "destroy_kasm", status: 502 });
    expect((await api("destroy_kasm", { kasm_id: kasmId, user_id: userId })).status).toBe(502);
    expect(kasm.state().kasms).toHaveLength(1);
    expect((await api("destroy_kasm", { kasm_id: kasmId, user_id: userId })).json).toEqual({});
    await waitFor("the container removed", async () => (await sessionContainers()).length === 0, 10_000);
  });

  it("an image whose container exits at once: the session shows stopped, never running", async () => {
    const kasmId = (await api("request_kasm", { image_id: "bad", user_id: userId })).json.kasm_id as string;
    const session = await untilKasm(kasmId);
    expect(session.operational_status).toBe("stopped");
    expect((await docker.getContainer(session.container_id as string).inspect()).State.ExitCode).toBe(1);
    expect((await api("destroy_kasm", { kasm_id: kasmId, user_id: userId })).json).toEqual({});
    await waitFor("the container removed", async () => (await sessionContainers()).length === 0, 10_000);
  });

  it("a held image's session stays starting; no agent holding the image is Kasm's No resources", async () => {
    kasm.holdSessions("good", true);
    const kasmId = (await api("request_kasm", { image_id: "good", user_id: userId })).json.kasm_id as string;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await api("get_kasm_status", { kasm_id: kasmId, user_id: userId })).json).toEqual({
      error_message: "This session is currently starting.",
    });
    expect(await sessionContainers()).toEqual([]);
    expect((await api("destroy_kasm", { kasm_id: kasmId, user_id: userId })).json).toEqual({});
    kasm.holdSessions("good", false);
    const refused = (await api("request_kasm", { image_id: "absent", user_id: userId })).json;
    expect(String(refused.error_message)).toMatch(/^No resources are available to create the requested Kasm/);
    expect(kasm.state().kasms).toEqual([]);
  });

  it("a key without USERS_AUTH_SESSION is refused with 401 Unauthorized", async () => {
    kasm.setPermissions(["USER", "USERS_VIEW", "SESSIONS_VIEW"]);
    const refused = await api("request_kasm", { image_id: "good", user_id: userId });
    kasm.setPermissions(undefined);
    expect(refused).toEqual({ status: 401, json: { error_message: "Unauthorized" } });
    expect(kasm.state().kasms).toEqual([]);
  });
});
