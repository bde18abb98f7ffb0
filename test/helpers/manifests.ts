import {
  type AgentManifest,
  type AgentSpec,
  API_VERSION,
  type ManifestSet,
  type RegistryManifest,
  type SettingsSpec,
  type WorkspaceManifest,
  type WorkspaceSpec,
} from "../../src/core/manifest/types.js";

/** Builders of in-memory manifests for table tests, never for production input. */
const at = { file: "synthetic.yaml", line: 1, col: 1 };

export function registry(name: string, host: string): RegistryManifest {
  return {
    apiVersion: API_VERSION,
    kind: "Registry",
    metadata: { name },
    spec: { host, insecure: true },
    source: at,
  };
}

export function agent(
  name: string,
  labels: Record<string, string> = {},
  spec: Partial<AgentSpec> = {},
): AgentManifest {
  return {
    apiVersion: API_VERSION,
    kind: "Agent",
    metadata: { name, labels },
    spec: { docker: { host: `unix:///run/${name}.sock` }, ...spec },
    source: at,
  };
}

export function workspace(name: string, spec: Partial<WorkspaceSpec> & { image: string }): WorkspaceManifest {
  return { apiVersion: API_VERSION, kind: "Workspace", metadata: { name }, spec, source: at };
}

export function manifestSet(parts: Partial<ManifestSet> & { settingsSpec?: SettingsSpec }): ManifestSet {
  const { settingsSpec, ...rest } = parts;
  return {
    registries: [],
    agents: [],
    workspaces: [],
    ...rest,
    ...(settingsSpec
      ? {
          settings: {
            apiVersion: API_VERSION,
            kind: "Settings",
            metadata: { name: "default" },
            spec: settingsSpec,
            source: at,
          },
        }
      : {}),
  };
}
