#!/usr/bin/env node
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { defaultLabDir, type Lab, startLab, stopLab } from "./lab.js";
import { pushRandomImage } from "./push-image.js";

const USAGE = `usage: npm run lab -- up|down|env [--json]|push REPO:TAG [--auth]

  up              start the lab (or reuse what runs) and print it as JSON
  down            stop every process a lab command (up, the demo, a benchmark) started in the lab
                  folder, and unmount what its engines mounted
  env             the lab's addresses, sockets and credentials as shell variables
                  (eval "$(npm run --silent lab -- env)"); --json for JSON
  push REPO:TAG   push a random test image to the plain registry (--auth: the htpasswd one) and
                  print its reference and digest
`;

/** The running lab as recorded by `up`; an error that says how to start it otherwise. */
function readLab(dir: string): Lab {
  const file = join(dir, "lab.json");
  if (!existsSync(file)) throw new Error(`no lab is recorded in ${dir}: start it with npm run lab -- up`);
  return { dir, ...(JSON.parse(readFileSync(file, "utf8")) as Omit<Lab, "dir">) };
}

const quote = (value: string) => `'${value.replaceAll("'", "'\\''")}'`;

/** The variables `env` prints: every address, socket and credential a guide or a script needs. */
function labVariables(lab: Lab): Record<string, string> {
  const { plain, auth } = lab.registries;
  return {
    KASM_GITOPS_LAB_DIR: lab.dir,
    ...Object.fromEntries(lab.engines.map((e, i) => [`LAB_AGENT_${i + 1}_HOST`, e.host])),
    ...Object.fromEntries(lab.engines.map((e, i) => [`LAB_AGENT_${i + 1}_SOCKET`, e.socket])),
    LAB_REGISTRY: plain.host,
    LAB_REGISTRY_URL: plain.url,
    LAB_AUTH_REGISTRY: auth.host,
    LAB_AUTH_REGISTRY_URL: auth.url,
    LAB_AUTH_REGISTRY_USER: auth.auth?.username ?? "",
    LAB_AUTH_REGISTRY_PASSWORD: auth.auth?.password ?? "",
    LAB_KASM_URL: lab.kasm.url,
    LAB_KASM_API_KEY: lab.kasm.apiKey,
    LAB_KASM_API_KEY_SECRET: lab.kasm.apiKeySecret,
  };
}

async function main(argv: string[]): Promise<number> {
  const dir = defaultLabDir();
  const [action = "up", ...rest] = argv;
  if (action === "up") {
    const { lab } = await startLab({ dir, log: (line) => process.stderr.write(`[lab] ${line}\n`) });
    process.stdout.write(`${JSON.stringify(lab, null, 2)}\n`);
    return 0;
  }
  if (action === "down") {
    const { stopped, foreign, mounts } = await stopLab(dir);
    process.stderr.write(`[lab] stopped ${stopped.length} process(es) of ${dir}\n`);
    for (const pid of foreign)
      process.stderr.write(`[lab] left pid ${pid} alone: it is no longer the process the lab started\n`);
    for (const point of mounts) process.stderr.write(`[lab] could not unmount ${point}\n`);
    return mounts.length ? 1 : 0;
  }
  if (action === "env") {
    const variables = labVariables(readLab(dir));
    process.stdout.write(
      rest.includes("--json")
        ? `${JSON.stringify(variables, null, 2)}\n`
        : Object.entries(variables)
            .map(([name, value]) => `export ${name}=${quote(value)}\n`)
            .join(""),
    );
    return 0;
  }
  if (action === "push") {
    const target = rest.find((a) => !a.startsWith("--"));
    const match = target ? /^([a-z0-9]+(?:[._/-][a-z0-9]+)*):([\w][\w.-]{0,127})$/.exec(target) : null;
    if (!match) {
      process.stderr.write(`lab push: give REPO:TAG, e.g. kasm/desktop:1.0 (got ${target ?? "nothing"})\n`);
      return 1;
    }
    const registry = readLab(dir).registries[rest.includes("--auth") ? "auth" : "plain"];
    const pushed = await pushRandomImage({
      url: registry.url,
      repository: match[1]!,
      tag: match[2]!,
      ...(registry.auth ? { auth: registry.auth } : {}),
    });
    process.stdout.write(`${pushed.reference} ${pushed.digest}\n`);
    return 0;
  }
  process.stderr.write(USAGE);
  return 1;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`[lab] error: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
