/** The task plan: everything resolved that executeTask needs beyond the task itself (see prepare.ts). */
import type { ImageSet } from "../image/build.js";
import type { SandboxProfile } from "../plan/sandbox-profile.js";
import type { Engine } from "../runtime/engine.js";
import type { ContractSchema } from "./contract.js";
import type { ModelRef } from "./model.js";
import type { PermissionPolicy } from "./permission-policy.js";
import type { Timeouts } from "./task.js";

export interface TaskPlan {
  engine: Engine;
  images: ImageSet;
  profile: SandboxProfile;
  model: ModelRef | undefined;
  role: string | null;
  system: string | undefined;
  contract: ContractSchema;
  structuredOutput: boolean;
  pool: string;
  timeouts: Timeouts;
  maxRetriesOnMalformedOutput: number;
  structurer: { enabled: boolean; model: ModelRef | undefined };
  rateLimitPatterns: string[];
  /** Model and rate-limit retries (not malformed output); default 2 and 3. */
  maxModelRetries: number;
  maxRateLimitRetries: number;
  /** What ocbox answers to OpenCode's permission asks (permission-policy.ts); default reject. */
  permissions: PermissionPolicy;
  /** WARNING lines: model API hosts the proxy would deny (plan/egress-gaps.ts). */
  egressWarnings?: string[];
}
