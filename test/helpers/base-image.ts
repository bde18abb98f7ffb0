import { execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type Docker from "dockerode";

/** Docker's default PATH, which every real base image sets. */
const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** What the Dockerfile's RUN steps call besides node and npm (env runs the npm and tsc shebangs); gpg and
 * ssh-keygen verify commit signatures at run time. */
const TOOLS = ["env", "git", "mkdir", "mv", "rm", "chmod", "chown", "gpg", "ssh-keygen"];

/** Shared libraries a binary loads, as `ldd` names them (the paths the loader will look at). */
function libraries(binary: string): string[] {
  const output = execFileSync("ldd", [binary], { encoding: "utf8" });
  return [...output.matchAll(/(?:=>\s+)?(\/\S+)\s+\(0x/g)].map((m) => m[1]!);
}

function copyInto(root: string, target: string, source: string) {
  const destination = join(root, target);
  mkdirSync(dirname(destination), { recursive: true });
  cpSync(realpathSync(source), destination, { recursive: true, dereference: false });
}

/** Lays out a minimal Node.js root filesystem from this machine's own node, npm, sh and git. */
function stageRootfs(root: string, caFiles: string[]): void {
  const binaries: Record<string, string> = { "usr/local/bin/node": process.execPath, "bin/sh": "/bin/sh" };
  for (const tool of TOOLS)
    binaries[`usr/bin/${tool}`] = execFileSync("which", [tool], { encoding: "utf8" }).trim();
  // git fetches over HTTP(S) through a helper in its exec path, as Debian's git package installs it.
  const gitExecPath = execFileSync("git", ["--exec-path"], { encoding: "utf8" }).trim();
  binaries[`${gitExecPath.slice(1)}/git-remote-http`] = `${gitExecPath}/git-remote-http`;
  for (const [target, source] of Object.entries(binaries)) {
    copyInto(root, target, source);
    for (const library of libraries(realpathSync(source))) copyInto(root, library.slice(1), library);
  }
  const npmRoot = execFileSync("npm", ["root", "-g"], { encoding: "utf8" }).trim();
  copyInto(root, "usr/local/lib/node_modules/npm", join(npmRoot, "npm"));
  symlinkSync("../lib/node_modules/npm/bin/npm-cli.js", join(root, "usr/local/bin/npm"));
  symlinkSync("../lib/node_modules/npm/bin/npx-cli.js", join(root, "usr/local/bin/npx"));
  symlinkSync("git-remote-http", join(root, gitExecPath.slice(1), "git-remote-https"));
  // The system bundle, plus the CA files this host's npm uses to reach its registry, at the same paths.
  for (const bundle of ["/etc/ssl/certs/ca-certificates.crt", ...caFiles]) {
    if (existsSync(bundle)) copyInto(root, bundle.slice(1), bundle);
  }
  mkdirSync(join(root, "etc"), { recursive: true });
  writeFileSync(
    join(root, "etc/passwd"),
    "root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n",
  );
  writeFileSync(join(root, "etc/group"), "root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n");
  for (const dir of ["root", "home/node", "tmp", "var/tmp", "usr/local/sbin", "usr/sbin", "sbin"]) {
    mkdirSync(join(root, dir), { recursive: true });
  }
  chmodSync(join(root, "tmp"), 0o1777);
  chmodSync(root, 0o755); // mkdtemp made it 0700: as /, that would lock out every non-root user
}

/** Follows a dockerode progress stream to its end; an error event rejects with the engine's message. */
export function followProgress(
  docker: Docker,
  stream: NodeJS.ReadableStream,
  onEvent: (event: { stream?: string; error?: string }) => void = () => {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null, events: { error?: string }[]) => {
        const failed = events?.find((e) => e.error);
        if (error || failed) reject(error ?? new Error(failed?.error));
        else resolve();
      },
      onEvent,
    );
  });
}

/**
 * Imports a base image made of this machine's node, npm, /bin/sh, git and the libraries they load, so the
 * Dockerfile builds without pulling anything. Returns the image size in bytes.
 */
export async function importLocalBaseImage(
  docker: Docker,
  repo: string,
  tag: string,
  caFiles: string[] = [],
): Promise<number> {
  const root = mkdtempSync(join(tmpdir(), "kasm-gitops-base-"));
  try {
    stageRootfs(root, caFiles);
    const tar = spawn("tar", ["--numeric-owner", "--owner=0", "--group=0", "-C", root, "-cf", "-", "."], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<void>((resolve, reject) =>
      tar.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`tar exited with ${code}`)))),
    );
    await followProgress(
      docker,
      await docker.importImage(tar.stdout, { repo, tag, changes: [`ENV PATH=${PATH}`] }),
    );
    await exited;
    return (await docker.getImage(`${repo}:${tag}`).inspect()).Size;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
