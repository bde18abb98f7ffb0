/**
 * The record fields Git owns only when a Workspace's `kasm` block names them, in our naming on the manifest
 * side and one Kasm key each on the record side: resolution, GPUs, the persistent profile, the session time
 * limit, the launch form, network restrictions and the CPU allocation method.
 */
import { formatDuration, parseDuration } from "../duration.js";
import type { KasmCpuAllocation, KasmWorkspaceSpec } from "../manifest/types.js";
import type { KasmOptionalFields } from "./types.js";

/** The record fields a `kasm` block names; a field it leaves out is absent, so Kasm keeps its own value. */
export function optionalFields(kasm: KasmWorkspaceSpec): Partial<KasmOptionalFields> {
  const fields: Partial<KasmOptionalFields> = {};
  if (kasm.resolution) {
    fields.xRes = kasm.resolution.width;
    fields.yRes = kasm.resolution.height;
  }
  if (kasm.gpus !== undefined) fields.gpuCount = kasm.gpus;
  if (kasm.persistentProfilePath !== undefined)
    fields.persistentProfilePath = kasm.persistentProfilePath === "" ? null : kasm.persistentProfilePath;
  if (kasm.sessionTimeLimit !== undefined) fields.sessionTimeLimit = sessionSeconds(kasm.sessionTimeLimit);
  if (kasm.launchConfig !== undefined) fields.launchConfig = kasm.launchConfig;
  if (kasm.restrictNetworks !== undefined) {
    fields.restrictToNetwork = kasm.restrictNetworks.length > 0;
    fields.restrictNetworkNames = kasm.restrictNetworks;
  }
  if (kasm.allowNetworkSelection !== undefined) fields.allowNetworkSelection = kasm.allowNetworkSelection;
  if (kasm.cpuAllocationMethod !== undefined) fields.cpuAllocationMethod = kasm.cpuAllocationMethod;
  return fields;
}

/** A session time limit in Kasm's seconds; `0s` (or an unparsable value, which validation refuses) is none. */
export function sessionSeconds(duration: string): number | null {
  const ms = parseDuration(duration);
  return ms === undefined || ms === 0 ? null : Math.round(ms / 1000);
}

/** Kasm's defaults for a new record's optional fields: import writes only the fields that differ. */
export const KASM_RECORD_DEFAULTS = {
  xRes: 800,
  yRes: 600,
  gpuCount: 0,
  persistentProfilePath: null,
  sessionTimeLimit: null,
  launchConfig: {},
  restrictToNetwork: false,
  restrictNetworkNames: [],
  allowNetworkSelection: false,
  cpuAllocationMethod: "Inherit",
} as const satisfies Partial<KasmOptionalFields>;

const CPU_METHODS: readonly string[] = ["Inherit", "Quotas", "Shares"];

/**
 * The optional fields of a record as a `kasm` block writes them, only those that differ from Kasm's defaults
 * (so a round trip loses nothing and the first apply changes nothing), and notes on values Git cannot
 * express, which are left out (so Kasm keeps them).
 */
export function manifestFields(record: Partial<KasmOptionalFields>): {
  kasm: Partial<KasmWorkspaceSpec>;
  notes: string[];
} {
  const d = KASM_RECORD_DEFAULTS;
  const kasm: Partial<KasmWorkspaceSpec> = {};
  const notes: string[] = [];
  const x = record.xRes ?? d.xRes;
  const y = record.yRes ?? d.yRes;
  if (x !== d.xRes || y !== d.yRes) {
    if (Number.isInteger(x) && Number.isInteger(y) && x > 0 && y > 0)
      kasm.resolution = { width: x, height: y };
    else notes.push(`Kasm's resolution ${x}x${y} is not whole pixels above 0: left to Kasm`);
  }
  const gpus = record.gpuCount ?? d.gpuCount;
  if (gpus !== d.gpuCount) {
    if (Number.isInteger(gpus) && gpus > 0) kasm.gpus = gpus;
    else notes.push(`Kasm's gpu_count ${gpus} is not a whole number: left to Kasm`);
  }
  if (record.persistentProfilePath) kasm.persistentProfilePath = record.persistentProfilePath;
  const limit = record.sessionTimeLimit ?? null;
  if (limit !== null) {
    if (Number.isInteger(limit) && limit > 0) kasm.sessionTimeLimit = formatDuration(limit * 1000);
    else
      notes.push(`Kasm's session_time_limit ${limit} is not a whole number of seconds above 0: left to Kasm`);
  }
  if (record.launchConfig && Object.keys(record.launchConfig).length > 0)
    kasm.launchConfig = record.launchConfig;
  if (record.restrictToNetwork) {
    if (record.restrictNetworkNames && record.restrictNetworkNames.length > 0)
      kasm.restrictNetworks = [...new Set(record.restrictNetworkNames)];
    else notes.push("Kasm restricts sessions to networks but names none: left to Kasm");
  }
  if (record.allowNetworkSelection) kasm.allowNetworkSelection = true;
  const cpu = record.cpuAllocationMethod ?? d.cpuAllocationMethod;
  if (cpu !== d.cpuAllocationMethod && cpu !== "") {
    if (CPU_METHODS.includes(cpu)) kasm.cpuAllocationMethod = cpu as KasmCpuAllocation;
    else
      notes.push(
        `Kasm's cpu_allocation_method ${JSON.stringify(cpu)} is not Inherit, Quotas or Shares: left to Kasm`,
      );
  }
  return { kasm, notes };
}
