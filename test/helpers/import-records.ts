/** Kasm records for the import tables: one plain record, and the fields of one on a registry with credentials. */
import type { ImportRecord } from "../../src/core/import/records.js";

export const ID = (n: number) => `3f2a${n.toString(16).padStart(28, "0")}`;
export const record = (over: Partial<ImportRecord> = {}): ImportRecord => ({
  imageId: ID(1),
  name: "registry.example.com:5000/kasm/chrome:1.0",
  friendlyName: "Chrome",
  description: "",
  thumbnail: "",
  categories: [],
  cores: 2,
  memory: 2_768_000_000,
  enabled: true,
  hidden: false,
  runConfig: {},
  execConfig: {},
  volumeMappings: {},
  dockerRegistry: null,
  dockerUser: null,
  dockerTokenSet: false,
  notes: null,
  ...over,
});
export const corp = { dockerRegistry: "registry.example.com:5000", dockerUser: "ci", dockerTokenSet: true };
