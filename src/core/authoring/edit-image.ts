import { isMap, isScalar, parseAllDocuments } from "yaml";
import { KasmGitopsError } from "../errors.js";

/**
 * Rewrites one Workspace's `spec.image` in a YAML file's text and nothing else: the new value is spliced
 * into the original bytes, so comments, quoting, key order and every other line stay exactly as written.
 */
export function setWorkspaceImage(text: string, workspace: string, image: string): string {
  for (const doc of parseAllDocuments(text)) {
    if (!("contents" in doc) || !isMap(doc.contents)) continue;
    if (doc.get("kind") !== "Workspace" || doc.getIn(["metadata", "name"]) !== workspace) continue;
    const node = doc.getIn(["spec", "image"], true);
    if (!isScalar(node) || !node.range) {
      throw new KasmGitopsError(
        "invalid-manifest",
        `workspace "${workspace}" has no spec.image scalar to edit`,
      );
    }
    const [start, end] = node.range;
    const quote = node.type === "QUOTE_DOUBLE" ? '"' : node.type === "QUOTE_SINGLE" ? "'" : "";
    return `${text.slice(0, start)}${quote}${image}${quote}${text.slice(end)}`;
  }
  throw new KasmGitopsError("invalid-manifest", `no Workspace named "${workspace}" in this file`);
}
