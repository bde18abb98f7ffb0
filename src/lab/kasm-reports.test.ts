import { describe, expect, it } from "vitest";
import { initialState } from "./kasm-records.js";
import { dockerImages, withReport } from "./kasm-reports.js";

const D = `sha256:${"a".repeat(64)}`;

describe("an agent's report of its engine's images, as get_servers answers it", () => {
  it.each([
    [
      "a pulled image: its tags and repo digests",
      [{ Id: "sha256:1", RepoTags: ["reg:5000/app:1"], RepoDigests: [`reg:5000/app@${D}`] }],
      { "sha256:1": { tags: ["reg:5000/app:1"], RepoDigests: [`reg:5000/app@${D}`] } },
    ],
    [
      "an untagged, never pushed image: nothing a record could name",
      [{ Id: "sha256:2", RepoTags: ["<none>:<none>"], RepoDigests: ["<none>@<none>"] }],
      { "sha256:2": { tags: [], RepoDigests: [] } },
    ],
    [
      "Docker's nulls",
      [{ Id: "sha256:3", RepoTags: null, RepoDigests: null }],
      { "sha256:3": { tags: [], RepoDigests: [] } },
    ],
  ])("%s", (_name, images, expected) => {
    expect(dockerImages(images)).toEqual(expected);
  });

  it("lays one agent's report in, dated now, and leaves the others as they were", () => {
    let n = 0;
    const deps = { newId: () => `id${n++}`, now: () => new Date("2026-01-01T00:00:00Z") };
    const state = initialState(deps, { servers: [{ hostname: "k1" }, { hostname: "k2" }] });
    const [k1, k2] = state.servers;
    const next = withReport(
      state,
      k1!.server_id,
      [{ Id: "sha256:1", RepoTags: ["x:1"] }],
      new Date("2026-01-01T00:05:00Z"),
    );
    expect(next.servers[0]).toMatchObject({
      docker_images: { "sha256:1": { tags: ["x:1"], RepoDigests: [] } },
      last_reported: "2026-01-01T00:05:00.000Z",
    });
    expect(next.servers[1]).toEqual(k2);
    expect(state.servers[0]).toEqual(k1);
  });
});
