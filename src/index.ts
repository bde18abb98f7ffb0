/**
 * The package's public API: the pure core, for tools that build on kasm-gitops. Read and validate manifest
 * files (checkManifestFiles), work out the desired state (desiredState), index what each agent holds
 * (indexLocalImages) and plan (buildPlan, renderPlan). YAML position tracking stays internal.
 */

export { formatDuration, parseDuration } from "./core/duration.js";
export {
  describeError,
  type ErrorCode,
  type ErrorContexts,
  hasCode,
  type ImageReferencePart,
  isTransient,
  KasmGitopsError,
} from "./core/errors.js";
export {
  type DockerImageSummary,
  indexLocalImages,
  type LocalImage,
  type LocalImageIndex,
  toLocalImage,
} from "./core/image/local.js";
export {
  type ImageReference,
  ImageReferenceError,
  parseImageReference,
  tagReference,
} from "./core/image/reference.js";
export { type KasmPlan, type KasmPlanInput, type KasmServerConfig, planKasm } from "./core/kasm/plan.js";
export {
  type KasmGroup,
  type KasmMembership,
  type KasmObservation,
  type KasmOwnedFields,
  type KasmRecord,
  managedBy,
  markerFor,
} from "./core/kasm/types.js";
export { LOAD_LIMITS, type LoadLimits, type ManifestFile } from "./core/manifest/load.js";
export { parseMemoryQuantity } from "./core/manifest/quantity.js";
export { selectorMatches } from "./core/manifest/selectors.js";
export {
  type AgentManifest,
  type AgentSpec,
  API_VERSION,
  DEFAULTS,
  type KasmServerManifest,
  type KasmServerSpec,
  type KasmWorkspaceSpec,
  KINDS,
  type Kind,
  type Manifest,
  type ManifestSet,
  type Metadata,
  type NotificationEventKind,
  type NotificationManifest,
  type NotificationSpec,
  type Position,
  type Problem,
  type ProblemCode,
  type PruneMode,
  type PruneSpec,
  type RegistryManifest,
  type RegistrySpec,
  type SecretRef,
  type SettingsManifest,
  type SettingsSpec,
  type ValueOrRef,
  type WorkspaceManifest,
  type WorkspaceSpec,
} from "./core/manifest/types.js";
export {
  checkManifestFiles,
  formatProblem,
  hasErrors,
  sortProblems,
  type ValidationResult,
  validateManifests,
} from "./core/manifest/validate.js";
export { driftEvent, type NotificationEvent, notificationBody } from "./core/notification.js";
export {
  type DesiredAgent,
  type DesiredImage,
  type DesiredState,
  desiredState,
  type RefreshScope,
  refsToCheck,
} from "./core/plan/desired.js";
export { type AgentObservation, buildPlan, type PlanInput } from "./core/plan/plan.js";
export { type DigestResult, type PullRecord, planPromotions, promotionRefs } from "./core/plan/promotion.js";
export { type PruneSettings, pruneSettings } from "./core/plan/prune.js";
export { incompleteLine, renderPlan, summaryLine } from "./core/plan/render.js";
export type {
  Action,
  BlockedAction,
  KasmAction,
  KasmCreateAction,
  KasmGroupAction,
  KasmRemoveAction,
  KasmUpdateAction,
  Plan,
  PlanSummary,
  PlanWarning,
  PromoteAction,
  PullAction,
  RemoveAction,
  UnknownCause,
  UnknownKind,
} from "./core/plan/types.js";
export { agentUnknowns, describeUnknown, registryUnknowns, withUnknown } from "./core/plan/unknown.js";
