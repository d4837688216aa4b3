// The flow service's public edge: what the HTTP functions and the ingestion trigger use.
export { findActiveFlowsForBlob, type ActiveFlow, type LandedBlob } from './find-active-flows.js';
export {
  CreateFlowRequest,
  createFlow,
  deleteFlow,
  getFlow,
  listFlows,
  type EncryptionParams,
  type Flow,
  type FlowState,
} from './flows.js';
export type { FlowServiceDeps } from './flow-service-deps.js';
export { flowsUsingKey } from './flows-using-key.js';
export type { KeyCheck } from './key-references.js';
export { runIdFor, type RunKey } from './run-id.js';
export {
  completeRun,
  failRun,
  recordRunRetry,
  getRun,
  listRuns,
  startRun,
  type FlowRun,
  type RunError,
  type RunMetrics,
  type RunMetricsUpdate,
  type RunStatus,
  type StartRunInput,
  type StartRunOutcome,
  type StartRunResult,
} from './runs.js';
export {
  CreateSourceConnectionRequest,
  createSourceConnection,
  getSourceConnection,
  type SourceConnection,
} from './source-connections.js';
export { isValidSourcePath, matchesSourcePath, sourcePathProblem } from './source-path.js';
export {
  CreateTargetConnectionRequest,
  createTargetConnection,
  getTargetConnection,
  type TargetConnection,
} from './target-connections.js';
