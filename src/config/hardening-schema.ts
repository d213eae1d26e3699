/**
 * The `hardening` key of ocbox.yaml (issue 4): one switch per item of the agent container's
 * hardening profile. Every default is the hardened setting; each weakening is named in the
 * startup summary with a WARNING line (src/sandbox/hardening.ts).
 */
import { z } from "zod";
import { CAPABILITIES, capabilityProblem } from "./capabilities.js";
import { withProblem } from "./checks.js";

export const SECCOMP_MODES = ["ocbox", "engine-default", "unconfined"] as const;

export const hardeningSchema = z
  .strictObject({
    readOnlyRoot: z
      .boolean()
      .default(true)
      .describe(
        "Read-only root filesystem; only /tmp, the home dir and the workspace are writable. Default: true.",
      ),
    noNewPrivileges: z
      .boolean()
      .default(true)
      .describe(
        "no-new-privileges: setuid binaries and file capabilities give nothing. false is unsafe. Default: true.",
      ),
    seccomp: z
      .enum(SECCOMP_MODES)
      .default("ocbox")
      .describe(
        "Seccomp profile: ocbox (the engine's default minus ptrace, mount, unshare, bpf, io_uring and more), " +
          "engine-default (the engine's own profile; unsafe) or unconfined (no filter; unsafe). Default: ocbox.",
      ),
    capAdd: z
      .array(withProblem(z.string(), capabilityProblem).meta({ enum: [...CAPABILITIES] }))
      .default([])
      .describe(
        "Capabilities to add back after dropping all, e.g. [NET_BIND_SERVICE] (unsafe). The agent is not root, " +
          "so they land in the bounding set: only programs with file capabilities get them. Default: none.",
      ),
    runtime: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "a runtime name as registered in the engine, e.g. runsc")
      .optional()
      .describe(
        "The OCI runtime of the agent container, by the name it is registered under in the engine " +
          "(/etc/docker/daemon.json `runtimes`), e.g. runsc for gVisor: the agent's system calls go to gVisor's " +
          "kernel in user space, not the host's. ocbox checks at start that it is runsc, registered with " +
          "--network=none, --host-uds=all and --oci-seccomp (SECURITY.md). The sidecar stays on the engine's " +
          "default runtime. Default: the engine's default (runc).",
      ),
    rootTaskRuntime: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9_.-]*$/,
        "auto, runc, or a runtime name as registered in the engine, e.g. runsc",
      )
      .optional()
      .describe(
        "The OCI runtime of a benchmark task that runs as root (a Harbor task whose [agent].user is root, or unset " +
          "on a root image): auto = gVisor where the engine registers runsc as ocbox needs it (else runc with " +
          "the package-manager capabilities), runc = the engine's default, or a registered runtime's name " +
          "(checked at start like runtime). Ignored when runtime is set. Default: auto.",
      ),
    icmp: z
      .boolean()
      .default(false)
      .describe(
        "Let every group open ping sockets (net.ipv4.ping_group_range back to the engine's default; unsafe). " +
          "The agent has no network but loopback either way. Default: false.",
      ),
  })
  .superRefine((h, ctx) => {
    const seen = new Set<string>();
    for (const [i, cap] of h.capAdd.entries()) {
      if (seen.has(cap)) {
        ctx.addIssue({
          code: "custom",
          path: ["capAdd", i],
          message: `${cap} is listed twice`,
          params: { fix: `remove the second ${cap}` },
        });
      }
      seen.add(cap);
    }
  })
  .prefault({})
  .describe(
    "The agent container's hardening profile. Every default is the hardened setting; each weakening prints a " +
      "WARNING line in the startup summary. The non-root user and the init process (tini) are not switches.",
  );

export type HardeningConfig = z.output<typeof hardeningSchema>;
