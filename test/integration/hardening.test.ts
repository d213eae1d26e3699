/**
 * ocbox.yaml's `hardening` switches through the built `ocbox` (issue 4): a project that weakens
 * seccomp, capabilities, no-new-privileges, the read-only root and ping sockets gets exactly that
 * container (read from /proc inside, as the agent), with a WARNING per weakening in the summary
 * and in `--json`; a project without the key stays fully hardened. No network target at all.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { capabilityBit } from "../../src/config/capabilities.js";
import { parseProjectConfig } from "../../src/config/parse.js";
import { runTask } from "../../src/executor/prepare.js";
import type { TaskEvent } from "../../src/executor/run-task.js";
import { LABEL } from "../../src/runtime/labels.js";
import { scriptedOpencodeConfig } from "../../src/scripted-model/opencode-config.js";
import { startScriptedModel } from "../../src/scripted-model/server.js";
import {
  containersOf,
  engine,
  makeProject,
  removeHome,
  tempHome,
  type TestProject,
} from "../helpers/project.js";

/** What the agent sees: its /proc status, the root mount, ping sockets, and ptrace's errno. */
const PROBE = [
  "grep -E '^(CapBnd|CapEff|NoNewPrivs|Seccomp):' /proc/self/status",
  'echo root=$(awk \'$2=="/" {split($4,o,","); print o[1]}\' /proc/mounts)',
  "echo ping=$(cat /proc/sys/net/ipv4/ping_group_range | tr '\\t' ' ')",
  // PTRACE_ATTACH to a pid that does not exist: ESRCH (3) when the call is allowed, EPERM (1) when
  // seccomp blocks it.
  `python3 -c 'import ctypes; l=ctypes.CDLL(None, use_errno=True); r=l.syscall(101, 16, 999999, 0, 0); print("ptrace=%d" % (0 if r >= 0 else ctypes.get_errno()))'`,
].join("; ");

interface Seen {
  capBnd: bigint;
  capEff: bigint;
  noNewPrivs: string;
  seccomp: string;
  root: string;
  ping: string;
  ptrace: string;
}

function parse(out: string): Seen {
  const field = (re: RegExp) => re.exec(out)?.[1] ?? "";
  return {
    capBnd: BigInt(`0x${field(/^CapBnd:\s*([0-9a-f]+)/m)}`),
    capEff: BigInt(`0x${field(/^CapEff:\s*([0-9a-f]+)/m)}`),
    noNewPrivs: field(/^NoNewPrivs:\s*(\d)/m),
    seccomp: field(/^Seccomp:\s*(\d)/m),
    root: field(/^root=(\w+)/m),
    ping: field(/^ping=(.+)$/m).trim(),
    ptrace: field(/^ptrace=(\d+)/m),
  };
}

let home: string;
const ids: string[] = [];
const projects: TestProject[] = [];

async function up(
  name: string,
  yaml: string,
): Promise<{ p: TestProject; summary: Record<string, unknown>; stderr: string }> {
  const p = await makeProject(home, name);
  projects.push(p);
  expect((await p.run(["init", "--yes", "--json"])).code).toBe(0);
  await writeFile(join(p.root, "ocbox.yaml"), yaml);
  ids.push(await p.sandboxId());
  const r = await p.run(["up", "--detach", "--approve-hook", "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return { p, summary: JSON.parse(r.stdout) as Record<string, unknown>, stderr: r.stderr };
}

async function probe(p: TestProject): Promise<Seen> {
  const r = await p.run(["exec", "--", "sh", "-c", PROBE]);
  expect(r.code, r.stderr).toBe(0);
  return parse(r.stdout);
}

beforeAll(async () => {
  home = await tempHome();
});

afterAll(async () => {
  for (const p of projects) await p.run(["down"]);
  if (ids.length) expect(await containersOf(ids)).toEqual([]);
  if (home) await removeHome(home);
});

it("a weakened hardening reaches the container, and every weakening warns", async () => {
  const { p, summary, stderr } = await up(
    "weakened",
    [
      "hardening:",
      "  seccomp: engine-default",
      "  capAdd: [NET_BIND_SERVICE]",
      "  noNewPrivileges: false",
      "  readOnlyRoot: false",
      "  icmp: true",
      "",
    ].join("\n"),
  );
  const security = summary.security as Record<string, unknown>;
  expect(security.unsafe).toEqual([
    "hardening.readOnlyRoot",
    "hardening.noNewPrivileges",
    "hardening.seccomp",
    "hardening.capAdd",
    "hardening.icmp",
  ]);
  expect(security).toMatchObject({
    seccomp: { profile: "engine-default" },
    capabilities: ["NET_BIND_SERVICE"],
  });
  // With --json the warnings go to stderr too, one line each.
  expect(stderr).toMatch(/WARNING\s+hardening\.seccomp: the engine's default seccomp profile/);
  expect(stderr).toMatch(/WARNING\s+hardening\.capAdd: capabilities added back: NET_BIND_SERVICE/);
  expect(stderr.match(/WARNING/g)).toHaveLength(5);

  const seen = await probe(p);
  // The capability is in the bounding set (the agent is not root, so not in its effective set).
  expect(seen.capBnd).toBe(1n << BigInt(capabilityBit("NET_BIND_SERVICE")));
  expect(seen.capEff).toBe(0n);
  expect(seen.noNewPrivs).toBe("0");
  // Still a seccomp filter (the engine's), but it lets ptrace through: ESRCH, not EPERM.
  expect(seen.seccomp).toBe("2");
  expect(seen.ptrace).toBe("3");
  expect(seen.root).toBe("rw");
  expect(seen.ping).not.toBe("1 0");
});

it("without the key the sandbox stays fully hardened, and nothing warns", async () => {
  const { p, summary, stderr } = await up("hardened", "egress:\n  allow: []\n");
  const security = summary.security as Record<string, unknown>;
  expect(security.unsafe).toEqual([]);
  expect(security).toMatchObject({
    seccomp: { profile: "ocbox" },
    capabilities: [],
    noNewPrivileges: true,
    readOnlyRoot: true,
    icmp: false,
  });
  expect(stderr).not.toMatch(/WARNING/);
  const seen = await probe(p);
  expect(seen).toEqual({
    capBnd: 0n,
    capEff: 0n,
    noNewPrivs: "1",
    seccomp: "2",
    root: "ro",
    ping: "1 0",
    ptrace: "1",
  });
});

it("the executor honours it too: runTask's sandbox gets the weakened profile, and each task warns", async () => {
  const model = await startScriptedModel({ scenario: { turns: [{ structured: { outcome: "COMPLETE" } }] } });
  const ws = mkdtempSync(join(tmpdir(), "ocbox-hardening-"));
  writeFileSync(join(ws, "README.md"), "a task\n");
  const events: TaskEvent[] = [];
  let seen: Seen | undefined;
  try {
    const result = await runTask({
      workspace: ws,
      prompt: "Do the task.",
      model: "scripted/scripted",
      opencodeConfig: scriptedOpencodeConfig(model.url),
      config: parseProjectConfig(
        "hardening:\n  seccomp: engine-default\n  capAdd: [NET_BIND_SERVICE]\n",
        "f",
      ),
      engine,
      onEvent: (e) => events.push(e),
      afterAgent: async (session) => {
        const r = await session.exec(["sh", "-c", PROBE]);
        seen = parse(r.stdout);
      },
    });
    expect(result.outcome).toBe("COMPLETE");
  } finally {
    await model.close();
  }
  expect(events.filter((e) => e.phase === "warning").map((e) => e.message)).toEqual([
    expect.stringMatching(/^WARNING hardening\.seccomp: /),
    expect.stringMatching(/^WARNING hardening\.capAdd: capabilities added back: NET_BIND_SERVICE$/),
  ]);
  expect(seen).toMatchObject({
    capBnd: 1n << BigInt(capabilityBit("NET_BIND_SERVICE")),
    noNewPrivs: "1",
    seccomp: "2",
    root: "ro",
    ping: "1 0",
    ptrace: "3",
  });
  expect(await engine.listContainers([`${LABEL.ownerPid}=${process.pid}`], true)).toEqual([]);
});
