/**
 * The ulimits a test's own plain container (one made with dockerode, not through ocbox's driver)
 * needs on this engine. Podman raises nofile and nproc to 1048576 when a container does not set
 * them, which a service whose own hard limit is lower (no CAP_SYS_RESOURCE, as in a container)
 * refuses with "error setting rlimit type 7". Such a container states the same nofile and nproc
 * as ocbox's own containers there (ulimitsFor); on Docker it keeps the engine's defaults, so a
 * "default container" stays the engine's default.
 */
import type { Ulimit } from "../../src/runtime/engine-capabilities.js";
import { ulimitsFor } from "../../src/runtime/engine-capabilities.js";
import type { DockerEngine } from "../../src/runtime/docker-engine.js";

export async function plainUlimits(engine: DockerEngine): Promise<{ Ulimits?: Ulimit[] }> {
  const caps = await engine.capabilities();
  if (!caps.explicitUlimits) return {};
  return { Ulimits: ulimitsFor(caps).filter((u) => u.Name !== "core") };
}
