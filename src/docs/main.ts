import { writeFileSync } from "node:fs";
import { readSchemaFiles, renderManifestDocs } from "./manifests-doc.js";

/** `npm run docs`: rewrites docs/manifests.md from schemas/, beside src/ or dist/. */
const root = new URL("../../", import.meta.url);
writeFileSync(
  new URL("docs/manifests.md", root),
  renderManifestDocs(readSchemaFiles(new URL("schemas/", root))),
);
