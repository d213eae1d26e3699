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
export { smoke, type SmokeOptions, type SmokeReport, type SmokeStep } from "./executor/smoke.js";
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
export { loadTaskSet, type TaskDef, type InvalidTask } from "./eval/task-set.js";
export { viewTaskSet } from "./eval/task-set-view.js";
export { buildTaskImages } from "./eval/task-images.js";
export { dryPlanUp } from "./project/dry-plan.js";
export { executeTask, type ExecutorDeps, type TaskEvent, type TaskRequest } from "./executor/run-task.js";
export type { TaskPlan } from "./executor/task-plan.js";
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
// `ocbox serve`: the local task service and its clients' side.
export { openService, DEFAULT_WARM_BUDGET, type Service, type ServiceOptions } from "./service/service.js";
export {
  connectService,
  serviceStatus,
  stopService,
  serviceLog,
  type ServiceClient,
} from "./service/client.js";
export { serviceFiles, type ServiceFiles, type ServiceInfo } from "./service/service-files.js";
export { taskRequestSchema, parseTaskRequest, type TaskRequestBody } from "./service/task-request.js";
export { openapiDocument } from "./service/openapi.js";
export type { ServiceTask, ServiceTaskStatus } from "./service/task-store.js";
export { openDashboard, type Dashboard } from "./monitor/dashboard.js";
export { startMonitors, type MonitorTarget, type RunningMonitors } from "./monitor/run-monitors.js";
export { checkProject, type CheckReport } from "./monitor/check.js";
export { scanImage, type ScanReport } from "./monitor/scan.js";
// A person's project: init, up, web, attach, ls/status, exec, down, egress log/suggest, clean.
export { initProject, type InitOptions, type InitReport, type InitStep } from "./project/init.js";
export { openProject, upProject, type UpOptions, type UpResult } from "./project/up.js";
export { openWebFront, requireRunning } from "./project/web.js";
export { runAttach } from "./project/attach.js";
export { listSandboxes, findProjectSandbox, type SandboxRow } from "./project/sandbox-list.js";
export { execInProject, execAttachedInProject } from "./project/exec.js";
export { downProject, type DownReport, type DownOptions, type KeptCopy } from "./project/down.js";
export {
  syncProject,
  watchProjectSync,
  DEFAULT_WATCH_INTERVAL_MS,
  type SyncResult,
  type SyncProjectOptions,
  type WatchOptions,
} from "./project/sync.js";
export {
  ensureRelay,
  reapRelays,
  relayState,
  startDetachedRelay,
  stopRelay,
  type RelayState,
} from "./project/detached-relay.js";
export { serveRelay } from "./project/relay-process.js";
export {
  projectDecisions,
  egressLogReport,
  egressSuggestReport,
  type ProjectDecisions,
  type EgressLogReport,
  type EgressSuggestReport,
} from "./project/egress-log.js";
export { removeProjectState } from "./project/clean-state.js";
export { removeCacheVolumes, type CacheCleanReport } from "./sandbox/cache-volume-init.js";
// Evaluations: `ocbox eval run`, `eval judge` (both write report.html) and `eval report`.
export { runEval, type EvalRunOptions, type EvalRunResult, type EvalEvent } from "./eval/run.js";
export { runJudge, type JudgeOptions, type JudgeRunResult, type JudgeEvent } from "./eval/judge.js";
export { writeReport } from "./eval/report-file.js";
export { writeSummary } from "./eval/summary-file.js";
export { pruneEval, type PruneOptions, type PruneReport } from "./eval/prune.js";
export type { Summary, TaskSummary } from "./eval/summary.js";
export { loggingSettings, type LoggingSettings } from "./eval/logging.js";
