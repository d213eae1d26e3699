/**
 * ocbox as a library. Every CLI command is a thin layer over one of these.
 */
export { OcboxError, ExitCode, isOcboxError, type ErrorCode } from "./errors.js";
export { OCBOX_VERSION } from "./version.js";
export { DockerEngine } from "./runtime/docker-engine.js";
export type { Engine, EngineInfo } from "./runtime/engine.js";
export { ensureImages, type ImageOptions, type ImageSet } from "./image/build.js";
export { bootstrapBase, type BootstrapOptions, type BootstrapResult } from "./image/bootstrap.js";
export { startSandbox, newRunId, type StartedSandbox, type StartOptions } from "./sandbox/start.js";
export type { SandboxSpec } from "./sandbox/spec.js";
export { reap, type ReapReport, type ReapOptions } from "./sandbox/reaper.js";
export { smoke, type SmokeReport, type SmokeStep } from "./executor/smoke.js";
export { extractContract } from "./executor/extract.js";
export {
  parseOutcome,
  contractSchemaFor,
  baseContract,
  instructionBlock,
  contractJsonSchema,
} from "./executor/contract.js";
export {
  startScriptedModel,
  type ScriptedModel,
  type ScriptedModelOptions,
} from "./scripted-model/server.js";
export {
  loadScenarioFile,
  parseScenario,
  type Scenario,
  type ScenarioInput,
} from "./scripted-model/scenario.js";
export { scriptedOpencodeConfig } from "./scripted-model/opencode-config.js";
export { runTask, planTask, type RunTaskOptions } from "./executor/prepare.js";
// The one planner (pure) and `ocbox plan`'s library twins.
export { plan, planSandbox, type Plan, type PlanInput, type SandboxPlan } from "./plan/plan.js";
export { planView } from "./plan/plan-view.js";
export { ENTRY_POINTS, type EntryPoint } from "./plan/entry-point.js";
export {
  decideApproval,
  approvalError,
  obeyApproval,
  type ApprovalState,
  type ApprovalInput,
  type FileVerdict,
} from "./plan/approval-state.js";
export {
  APPROVAL_FILE_KINDS,
  type ApprovalFile,
  type ApprovalFileKind,
  type ApprovalHow,
  type ApprovalRecord,
} from "./plan/approval-files.js";
export { weakeningKeys, configWeakening, opencodeWeakening } from "./plan/weakening.js";
export {
  approveScope,
  reviewApprovals,
  listApprovals,
  revokeApproval,
  type ApproveResult,
  type FileReview,
} from "./project/approval-commands.js";
export {
  addTaskFile,
  checkApproval,
  recordDecided,
  folderScope,
  projectScope,
  type ApprovalScope,
  type ReadFiles,
} from "./executor/approval-check.js";
export type { SandboxProfile } from "./plan/sandbox-profile.js";
export { dryPlanTask } from "./executor/dry-plan.js";
export { dryPlanUp } from "./project/dry-plan.js";
export {
  executeTask,
  type ExecutorDeps,
  type TaskPlan,
  type TaskEvent,
  type TaskRequest,
} from "./executor/run-task.js";
export { WarmPool, type WarmPoolOptions } from "./executor/warm-pool.js";
export { Pools, sharedPools, type PoolLease } from "./executor/pool.js";
export {
  DEFAULT_TIMEOUTS,
  RUN_EXIT,
  exitCodeFor,
  type TaskResult,
  type Timeouts,
  type RecoveredBy,
} from "./executor/task.js";
export { classifyFailure, type FailureHint, type FailureReason } from "./executor/hints.js";
export type { AnsweredAsk, AskingLine, PermissionPolicy } from "./executor/permission-policy.js";
export { openBridge, type Bridge, type BridgeOptions } from "./bridge/bridge.js";
export { openDashboard, type Dashboard } from "./monitor/dashboard.js";
export { startMonitors, type MonitorTarget, type RunningMonitors } from "./monitor/run-monitors.js";
export { checkProject, type CheckReport } from "./monitor/check.js";
export { scanImage, type ScanReport } from "./monitor/scan.js";
