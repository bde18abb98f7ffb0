import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type Docker from "dockerode";
import { followProgress, importLocalBaseImage } from "./base-image.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** What the image build reads; the Dockerfile's .dockerignore filters it further, as `docker build` does. */
const CONTEXT = [
  "Dockerfile",
  ".dockerignore",
  "package.json",
  "package-lock.json",
  "tsconfig.json",
  "tsconfig.build.json",
  "src",
  "schemas",
  "examples",
];

/** This host's npm registry and CA settings, passed on so the build stage's `npm ci` reaches the same registry. */
function npmBuildArgs(): Record<string, string> {
  const config = (key: string) => execFileSync("npm", ["config", "get", key], { encoding: "utf8" }).trim();
  const registry = config("registry");
  const cafile = config("cafile");
  return {
    ...(registry && registry !== "https://registry.npmjs.org/" ? { NPM_CONFIG_REGISTRY: registry } : {}),
    // The base image carries these files (see importLocalBaseImage), at the same paths.
    ...(cafile && cafile !== "null" && cafile !== "undefined" ? { NPM_CONFIG_CAFILE: cafile } : {}),
    ...(process.env.NODE_EXTRA_CA_CERTS ? { NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS } : {}),
  };
}

/** The project's image built once from the Dockerfile on one engine; the slowest step of the suite, so shared. */
export type AppImage = {
  /** `kasm-gitops-test/app:<suffix>` on the engine that built it. */
  image: string;
  baseBytes: number;
  buildSeconds: number;
  /** Removes the image, every intermediate step and the base image, so the shared engine gets its disk back. */
  remove(): Promise<void>;
};

/** Builds the Dockerfile on a base image made of this machine's node (nothing pulled), as `docker build` would. */
export async function buildAppImage(docker: Docker): Promise<AppImage> {
  const suffix = randomBytes(4).toString("hex");
  const base = { repo: "kasm-gitops-test/base", tag: suffix };
  const image = `kasm-gitops-test/app:${suffix}`;
  const built: string[] = [];
  const remove = async () => {
    for (const id of [image, ...built.reverse(), `${base.repo}:${base.tag}`]) {
      await docker
        .getImage(id)
        .remove({ force: true })
        .catch(() => {});
    }
  };
  const buildArgs = npmBuildArgs();
  const caFiles = [buildArgs.NPM_CONFIG_CAFILE, buildArgs.NODE_EXTRA_CA_CERTS].filter((f) => f !== undefined);
  try {
    const baseBytes = await importLocalBaseImage(docker, base.repo, base.tag, caFiles);
    const log: string[] = [];
    const started = Date.now();
    const stream = await docker.buildImage(
      { context: ROOT, src: CONTEXT.filter((entry) => existsSync(`${ROOT}/${entry}`)) },
      {
        t: image,
        buildargs: { BASE_IMAGE: `${base.repo}:${base.tag}`, ...buildArgs },
        // The lab's engines have no bridge network; npm ci in the build stage uses the host's.
        networkmode: "host",
        rm: true,
        forcerm: true,
      },
    );
    await followProgress(docker, stream, (event) => {
      if (event.stream) log.push(event.stream);
      for (const match of (event.stream ?? "").matchAll(/---> ([0-9a-f]{12})\b/g)) built.push(match[1]!);
    }).catch((error: Error) => {
      throw new Error(`docker build failed: ${error.message}\n${log.join("").slice(-4000)}`);
    });
    return { image, baseBytes, buildSeconds: (Date.now() - started) / 1000, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}
