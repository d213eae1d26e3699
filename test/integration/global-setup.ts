import { DockerEngine } from "../../src/runtime/docker-engine.js";

/** Integration tests need a real engine: fail loudly, with the fix, when none answers. */
export default async function setup(): Promise<void> {
  try {
    await new DockerEngine().info();
  } catch (e) {
    const fix = (e as { fix?: string }).fix ?? "";
    throw new Error(`Integration tests need a Docker engine and none answers.\n${fix}`);
  }
}
