/** The package's public API: the pure core, for tools that build on kasm-gitops. */

export { formatDuration, parseDuration } from "./core/duration.js";
export { type ErrorCode, KasmGitopsError } from "./core/errors.js";
export {
  type ImageReference,
  ImageReferenceError,
  parseImageReference,
  tagReference,
} from "./core/image-ref.js";
