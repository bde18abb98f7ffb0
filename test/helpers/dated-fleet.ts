/** A manifest repo whose testing Workspace follows a lab repository's dated tags: the update tests' fixture. */
import { inject } from "vitest";
import { pushRandomImage } from "../../src/lab/push-image.js";
import { inRepo } from "./cli.js";
import { labRegistryDoc, stateDir } from "./fleet.js";
import { createTestRepo, git, type TestRepo } from "./git-repos.js";

export const AUTHOR = ["--git-author", "Update Bot <bot@example.invalid>"];

/** Pushes one random image per tag to the lab's plain registry; returns each tag's digest. */
export async function pushDated(name: string, tags: readonly string[]): Promise<Record<string, string>> {
  const R = inject("lab").registries.plain;
  const digests: Record<string, string> = {};
  for (const tag of tags)
    digests[tag] = (await pushRandomImage({ url: R.url, repository: name, tag })).digest;
  return digests;
}

export type DatedOptions = { mode?: "commit" | "branch"; update?: string[]; notifyEnv?: string };

/** The manifest of chrome-testing on `image`, following its repository's dated tags, with `update` lines added. */
export function datedManifest(image: string, options: DatedOptions = {}): string {
  const R = inject("lab").registries.plain;
  return [
    "# The registry CI pushes dated builds to.",
    ...labRegistryDoc(R.host),
    "apiVersion: kasm-gitops/v1",
    "kind: Workspace",
    "metadata: {name: chrome-testing}   # QA's ring",
    "spec:",
    `  image: "${image}"   # moved by automation`,
    "  registry: lab",
    "  update:",
    "    policy: numerical",
    "    filter: {pattern: '^(?P<ts>\\d{8})$', extract: $ts}",
    ...(options.mode ? [`    mode: ${options.mode}`] : []),
    ...(options.update ?? []).map((line) => `    ${line}`),
    // A webhook Notification for automated proposals, its URL in the named environment variable.
    ...(options.notifyEnv
      ? [
          "---",
          "apiVersion: kasm-gitops/v1",
          "kind: Notification",
          "metadata: {name: hook}",
          `spec: {type: webhook, url: {env: ${options.notifyEnv}}, events: [update-proposed]}`,
        ]
      : []),
    "",
  ].join("\n");
}

/** A repo whose chrome-testing follows `name`'s dated tags from 20261201 (datedManifest). */
export async function datedFleet(name: string, digests: Record<string, string>, options: DatedOptions = {}) {
  const R = inject("lab").registries.plain;
  const image = (tag: string) => `${R.host}/${name}:${tag}`;
  const yaml = datedManifest(image("20261201"), options);
  const repo = await createTestRepo();
  await repo.commit({ "manifests/a.yaml": yaml }, "fleet");
  const state = await stateDir();
  const update = (...extra: string[]) => inRepo("update", repo.bare, state, [...AUTHOR, ...extra]);
  return { name, image, digests, repo, state, yaml, update };
}

export const bareLog = (repo: TestRepo, ref = "main", format = "%H") =>
  git(repo.bare, "log", "-1", `--format=${format}`, ref);
