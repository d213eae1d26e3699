/**
 * Issue 15 item 5, the pure parts of the verifier's own environment and network:
 * - `[verifier.environment]` cpus, memory_mb (or memory), env and workdir go onto the separate
 *   verifier's plan over the task's own; its other keys are named as not applied;
 * - the squid.conf a shared verifier's sidecar is switched to: the verifier's policy, no model
 *   gateway, and the marker that shows it is loaded.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseDecisions } from "../../src/egress/decisions.js";
import { loadHarborTask, parseTaskToml, taskNotices } from "../../src/eval/harbor-task.js";
import { verifierPlan } from "../../src/eval/harbor-separate.js";
import type { TaskPlan } from "../../src/executor/task-plan.js";
import { taskImageProfile } from "../../src/plan/task-image-plan.js";
import type { SandboxProfile } from "../../src/plan/sandbox-profile.js";
import { phaseSquidConfig } from "../../src/sandbox/egress-phase.js";
import { DEFAULT_LIMITS } from "../../src/sandbox/spec.js";

const TOML = `version = "1.0"
[verifier]
timeout_sec = 30
allowed_hosts = ["verify.example.org"]

[verifier.environment]
cpus = 0.5
memory = "384M"
env = { ONLY_VERIFIER = "yes", SHARED = "verifier" }
workdir = "/verify"
build_timeout_sec = 100

[environment]
network_mode = "no-network"
cpus = 2
memory_mb = 4096
env = { SHARED = "task", TASK_ONLY = "t" }
`;

async function loaded() {
  const dir = mkdtempSync(join(tmpdir(), "ocbox-verifier-env-"));
  const files = {
    "task.toml": TOML,
    "instruction.md": "Do it.",
    "environment/Dockerfile": "FROM ocbox/debian-base:bookworm\n",
    "tests/test.sh": "echo 1 > /logs/verifier/reward.txt\n",
  };
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return (await loadHarborTask(dir)).harbor;
}

const base: SandboxProfile = {
  images: { sandbox: "ocbox-sandbox:x", egress: "ocbox-egress:y" },
  opencodeConfig: {},
  forwardPorts: [],
  env: {},
  limits: DEFAULT_LIMITS,
  readyTimeoutMs: 60000,
  egress: {
    allow: [],
    restricted: true,
    gateways: [{ agentPort: 4097, upstream: "http://127.0.0.1:9999", key: "sk-real" }],
  },
};

describe("[verifier.environment] on the separate verifier", () => {
  it("reads memory as MB and names the keys it does not apply", () => {
    const { toml, unknown } = parseTaskToml(TOML, "task.toml");
    expect(toml.verifier.environment).toMatchObject({ cpus: 0.5, memory_mb: 384, workdir: "/verify" });
    expect(taskNotices(toml, { unknown, text: TOML })).toEqual([
      "verifier.environment: the separate verifier runs in the task's own image; applied: cpus, memory_mb, memory, env, workdir; not applied: build_timeout_sec",
    ]);
  });

  it("cpus, memory, env and workdir over the task's; the verifier's egress, with no model gateway", async () => {
    const harbor = await loaded();
    const profile = taskImageProfile(base, {
      image: "ocbox-task:abc",
      imageUser: "",
      imageWorkdir: "/app",
      lib64FromPayload: false,
      payloadVolume: "ocbox-payload-1",
      bash: true,
      cpus: harbor.toml.environment.cpus,
      memoryMb: harbor.toml.environment.memory_mb,
      env: harbor.toml.environment.env,
    });
    const plan = { profile } as unknown as TaskPlan;
    const v = verifierPlan(plan, harbor).profile;
    expect(v.limits).toMatchObject({ nanoCpus: 0.5e9, memoryBytes: 384 * 1024 ** 2 });
    expect(v.taskImage?.env).toEqual({ SHARED: "verifier", TASK_ONLY: "t", ONLY_VERIFIER: "yes" });
    expect(v.taskImage?.workdir).toBe("/verify");
    expect(v.egress).toEqual({ allow: ["verify.example.org"] });
    // The agent's plan is untouched.
    expect(profile.limits).toMatchObject({ nanoCpus: 2e9, memoryBytes: 4096 * 1024 ** 2 });
    expect(profile.taskImage?.workdir).toBe("/app");
  });

  it("without a [verifier.environment] the verifier's plan keeps the task's limits, env and workdir", async () => {
    const harbor = await loaded();
    delete harbor.toml.verifier.environment;
    const profile = taskImageProfile(base, {
      image: "i",
      imageUser: "",
      imageWorkdir: "/app",
      lib64FromPayload: false,
      payloadVolume: "p",
      bash: true,
      cpus: 2,
      memoryMb: 4096,
      env: { A: "1" },
    });
    const v = verifierPlan({ profile } as unknown as TaskPlan, harbor).profile;
    expect(v.limits).toEqual(profile.limits);
    expect(v.taskImage).toEqual(profile.taskImage);
  });
});

describe("the squid.conf a shared verifier's sidecar is switched to", () => {
  const marker = "ocbox-phase-0123456789ab.invalid";

  it("the verifier's hosts, no gateway listener and no key, and the marker first", () => {
    const conf = phaseSquidConfig({ allow: ["verify.example.org"] }, marker);
    expect(conf).toContain("acl ocbox_allowed dstdomain -n verify.example.org");
    expect(conf).not.toMatch(/accel|Authorization|gw0/);
    expect(conf).toContain(`deny_info 302:http://${marker}/ready ocbox_phase`);
    const lines = conf.split("\n");
    const markerAt = lines.indexOf("http_access deny ocbox_phase");
    const firstAccess = lines.findIndex((l) => l.startsWith("http_access"));
    expect(markerAt).toBe(firstAccess);
  });

  it("no-network allows no host; public opens every host but never the host's own addresses", () => {
    const none = phaseSquidConfig({ allow: [], restricted: true }, marker);
    expect(none).not.toContain("ocbox_allowed");
    expect(none).toContain("http_access deny all");
    const open = phaseSquidConfig({ allow: [], public: true }, marker);
    expect(open).toContain("http_access deny ocbox_local");
    expect(open).toContain("http_access allow all");
  });

  it("the marker's own request is never a decision (nor a suggestion to allow it)", () => {
    const line = (host: string, status: number, squid: string) =>
      `1700000000.000 3128 GET ${host} 80 - ${status} ${squid} - - /`;
    const text = [line(marker, 302, "TCP_DENIED"), line("example.com", 403, "TCP_DENIED")].join("\n");
    const decisions = parseDecisions(text, { allow: [], gatewayPorts: {} });
    expect(decisions.map((d) => d.host)).toEqual(["example.com"]);
  });

  it("refuses a marker that is not a name under .invalid", () => {
    expect(() => phaseSquidConfig({ allow: [] }, "example.com ocbox_local")).toThrow(/not a name\.invalid/);
  });
});
