/**
 * Manifest repo YAML as an administrator writes it, one document per object: tests, the demo and
 * benchmarks build their fleets with it. Repository names are unique because the lab is shared.
 */
import { randomBytes } from "node:crypto";

/** A unique repository prefix per test or benchmark run, because the lab's registries and engines are shared. */
export const uniqueRepo = (name: string) => `t${randomBytes(4).toString("hex")}/${name}`;

export type AgentDef = {
  name: string;
  host: string;
  labels?: Record<string, string>;
  maxConcurrentPulls?: number;
  enabled?: boolean;
  prune?: { mode?: string; keepPrevious?: number };
  /** The Kasm agent this host runs (spec.kasm). */
  kasm?: { server?: string; zone?: string };
};
export type WorkspaceDef = {
  name: string;
  image: string;
  registry?: string;
  labels?: Record<string, string>;
  /** `auto` writes the promotion as a commit or branch once the testing Workspace's smoke test passed. */
  promotion?: { from: string; movingTags?: string[]; auto?: "commit" | "branch" };
  /** The Workspace's update policy, written as a flow mapping. */
  update?: { policy: string; filter?: { pattern: string; extract?: string }; schedule?: string };
  refresh?: string;
  friendlyName?: string;
  enabled?: boolean;
  groups?: string[];
  /** The Workspace `kasm` block, written as a flow mapping. */
  kasm?: Record<string, unknown>;
  /** The Workspace's smoke test: `true` or `{timeout, hold}`. */
  smoke?: true | { timeout?: string; hold?: string };
};
/** A KasmServer whose key and secret come from these environment variables. */
export type KasmServerDef = {
  url: string;
  apiKeyEnv: string;
  apiKeySecretEnv: string;
  pulls?: "kasm-gitops" | "kasm";
  removed?: "disable" | "delete" | "keep";
  /** The deadline of one API call, e.g. `2s`. */
  timeout?: string;
  /** The Kasm user smoke sessions run as. */
  smokeUser?: string;
};
export type RegistryDef = { name: string; host: string; auth?: { username: string; passwordEnv: string } };

/** Writes a manifest repo's YAML as an administrator would: one document per object. */
export function fleetYaml(parts: {
  registries: RegistryDef[];
  agents: AgentDef[];
  workspaces: WorkspaceDef[];
  settings?: Record<string, unknown>;
  kasm?: KasmServerDef;
}): string {
  const docs: string[] = [];
  for (const r of parts.registries) {
    const auth = r.auth
      ? `\n  auth:\n    username: ${r.auth.username}\n    password: {env: ${r.auth.passwordEnv}}`
      : "";
    docs.push(
      `apiVersion: kasm-gitops/v1\nkind: Registry\nmetadata: {name: ${r.name}}\nspec:\n  host: "${r.host}"\n  insecure: true${auth}`,
    );
  }
  for (const a of parts.agents) {
    const labels = JSON.stringify(a.labels ?? {});
    const extra = `${a.maxConcurrentPulls ? `\n  maxConcurrentPulls: ${a.maxConcurrentPulls}` : ""}${a.enabled === false ? "\n  enabled: false" : ""}${a.prune ? `\n  prune: ${JSON.stringify(a.prune)}` : ""}${a.kasm ? `\n  kasm: ${JSON.stringify(a.kasm)}` : ""}`;
    docs.push(
      `apiVersion: kasm-gitops/v1\nkind: Agent\nmetadata: {name: ${a.name}, labels: ${labels}}\nspec:\n  docker: {host: "${a.host}"}${extra}`,
    );
  }
  for (const w of parts.workspaces) {
    const lines = [
      `apiVersion: kasm-gitops/v1`,
      `kind: Workspace`,
      `metadata: {name: ${w.name}}`,
      `spec:`,
      `  image: "${w.image}"`,
    ];
    if (w.registry) lines.push(`  registry: ${w.registry}`);
    if (w.labels) lines.push(`  agents: {matchLabels: ${JSON.stringify(w.labels)}}`);
    if (w.refresh) lines.push(`  refresh: "${w.refresh}"`);
    if (w.friendlyName) lines.push(`  friendlyName: ${JSON.stringify(w.friendlyName)}`);
    if (w.enabled === false) lines.push("  enabled: false");
    if (w.groups) lines.push(`  groups: ${JSON.stringify(w.groups)}`);
    if (w.kasm) lines.push(`  kasm: ${JSON.stringify(w.kasm)}`);
    if (w.smoke) lines.push(`  smoke: ${JSON.stringify(w.smoke)}`);
    if (w.update) lines.push(`  update: ${JSON.stringify(w.update)}`);
    if (w.promotion) {
      const { from, movingTags, auto } = w.promotion;
      const fields = [`from: ${from}`];
      if (movingTags) fields.push(`movingTags: ${JSON.stringify(movingTags)}`);
      if (auto) fields.push(`auto: ${auto}`);
      lines.push(`  promotion: {${fields.join(", ")}}`);
    }
    docs.push(lines.join("\n"));
  }
  if (parts.settings) {
    const spec = Object.entries(parts.settings)
      .map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`)
      .join("\n");
    docs.push(`apiVersion: kasm-gitops/v1\nkind: Settings\nmetadata: {name: default}\nspec:\n${spec}`);
  }
  const k = parts.kasm;
  if (k) {
    const options = [
      k.pulls && `pulls: ${k.pulls}`,
      k.removed && `removed: ${k.removed}`,
      k.timeout && `timeout: ${k.timeout}`,
      k.smokeUser && `smoke: {user: ${JSON.stringify(k.smokeUser)}}`,
    ]
      .filter(Boolean)
      .map((line) => `\n  ${line}`)
      .join("");
    docs.push(
      `apiVersion: kasm-gitops/v1\nkind: KasmServer\nmetadata: {name: kasm}\nspec:\n  url: "${k.url}"\n  apiKey: {env: ${k.apiKeyEnv}}\n  apiKeySecret: {env: ${k.apiKeySecretEnv}}${options}`,
    );
  }
  return `${docs.join("\n---\n")}\n`;
}
