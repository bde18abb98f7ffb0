import { execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

const exec = promisify(execFile);

/** Environment for test git commands: no user config, no hooks' GIT_DIR, a fixed identity. */
const GIT_ENV = Object.fromEntries([
  ...Object.entries(process.env).filter(([key]) => !key.startsWith("GIT_")),
  ["GIT_CONFIG_NOSYSTEM", "1"],
  ["GIT_AUTHOR_NAME", "Test"],
  ["GIT_AUTHOR_EMAIL", "test@example.invalid"],
  ["GIT_COMMITTER_NAME", "Test"],
  ["GIT_COMMITTER_EMAIL", "test@example.invalid"],
]);

/** Runs the git CLI and returns trimmed stdout. */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await exec("git", args, { cwd, env: GIT_ENV });
  return stdout.trim();
}

export const tempDir = (prefix: string) => mkdtemp(join(tmpdir(), `kg-${prefix}-`));

/** A bare repository plus a working clone to commit from; `commit` writes files and pushes the branch. */
export type TestRepo = {
  bare: string;
  work: string;
  commit(files: Record<string, string>, message: string, branch?: string): Promise<string>;
};

/** Creates a bare repo whose `main` has one commit with `manifests/a.yaml`. */
export async function createTestRepo(): Promise<TestRepo> {
  const root = await tempDir("repo");
  const bare = join(root, "origin.git");
  const work = join(root, "work");
  await git(root, "init", "--quiet", "--bare", "--initial-branch=main", bare);
  await git(root, "clone", "--quiet", bare, work);
  await git(work, "symbolic-ref", "HEAD", "refs/heads/main");
  const repo: TestRepo = {
    bare,
    work,
    async commit(files, message, branch = "main") {
      if ((await git(work, "symbolic-ref", "--short", "HEAD")) !== branch) {
        await git(work, "checkout", "--quiet", branch);
      }
      for (const [file, content] of Object.entries(files)) {
        await mkdir(dirname(join(work, file)), { recursive: true });
        await writeFile(join(work, file), content);
      }
      await git(work, "add", "--all");
      await git(work, "commit", "--quiet", "-m", message);
      await git(work, "push", "--quiet", "--force", "origin", `${branch}:${branch}`);
      return git(work, "rev-parse", "HEAD");
    },
  };
  await repo.commit({ "manifests/a.yaml": "a: 1\n" }, "first");
  return repo;
}

/** Serves bare repos under `root` with `git http-backend`, accepting only `Authorization: <accepted>`. */
export async function serveGitHttp(
  root: string,
  accepted: string[],
): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const backend = join(await git(root, "--exec-path"), "git-http-backend");
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    requests.push(`${req.method} ${url.pathname} ${req.headers.authorization ?? "-"}`);
    if (!accepted.includes(req.headers.authorization ?? "")) {
      res.writeHead(401, { "www-authenticate": 'Basic realm="git"' }).end("unauthorized\n");
      return;
    }
    const cgi = spawn(backend, [], {
      env: {
        ...GIT_ENV,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: "1",
        REQUEST_METHOD: req.method ?? "GET",
        PATH_INFO: url.pathname,
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers["content-type"] ?? "",
        HTTP_CONTENT_ENCODING: req.headers["content-encoding"] ?? "",
        GIT_PROTOCOL: String(req.headers["git-protocol"] ?? ""),
        REMOTE_ADDR: "127.0.0.1",
      },
    });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headersSent = false;
    cgi.stdout.on("data", (chunk: Buffer) => {
      if (headersSent) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end === -1) return;
      let status = 200;
      for (const line of head.subarray(0, end).toString().split("\r\n")) {
        const [name, ...rest] = line.split(":");
        const value = rest.join(":").trim();
        if (name?.toLowerCase() === "status") status = Number.parseInt(value, 10);
        else if (name) res.setHeader(name, value);
      }
      res.writeHead(status);
      headersSent = true;
      res.write(head.subarray(end + 4));
    });
    cgi.on("close", () => res.end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
