/**
 * The attack suite (FEATURES B2, C; issue 4). From inside a running sandbox, as the agent user,
 * try each way out and assert HOW it failed. Network targets are only the host of Debian's
 * package mirror (read from this machine's apt sources at run time) with its resolved address, and
 * listeners this test starts itself. "Network is unreachable at once" proves the rest without
 * sending packets anywhere else.
 *
 * TLS note: this machine reaches the mirror through an intercepting proxy whose CA is only in the
 * host's bundle. Allowed HTTPS is spliced (never decrypted) by the sidecar, so a client inside sees
 * that proxy's certificate; the allowed-HTTPS check passes the host bundle with --cacert.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, readdirSync, mkdtempSync, writeFileSync, existsSync, copyFileSync } from "node:fs";
import { lookup } from "node:dns/promises";
import { createServer as createHttpServer, request as httpRequest, type Server } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer } from "node:net";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromJsonl, suggestions } from "../../src/egress/decisions.js";
import { ensureImages, type ImageSet } from "../../src/image/build.js";
import { defaultProjectConfig } from "../../src/config/project-schema.js";
import { runTask } from "../../src/executor/prepare.js";
import { scriptedOpencodeConfig } from "../../src/scripted-model/opencode-config.js";
import { AGENT_UID } from "../../src/image/dockerfile.js";
import { BLOCKED_SYSCALLS } from "../../src/image/seccomp.js";
import { securityLines, securityProfile } from "../../src/sandbox/profile.js";
import { DockerEngine } from "../../src/runtime/docker-engine.js";
import { plainUlimits } from "../helpers/plain-ulimits.js";
import { LABEL } from "../../src/runtime/labels.js";
import { startScriptedModel, type ScriptedModel } from "../../src/scripted-model/server.js";
import { agentUserFor, currentHostUser, type SandboxSpec } from "../../src/sandbox/spec.js";
import { newRunId, startSandbox, type StartedSandbox } from "../../src/sandbox/start.js";
import { TEST_RUNTIME, testConfig, testHardening } from "../helpers/runtime.js";

/** The mirror host from this machine's apt sources (never written into the repo). */
function mirrorHost(): string {
  const files = ["/etc/apt/sources.list"];
  const dir = "/etc/apt/sources.list.d";
  if (existsSync(dir)) for (const f of readdirSync(dir)) files.push(join(dir, f));
  for (const file of files) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, "utf8");
    const m = /^(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(https?:\/\/[^\s]+)/m.exec(text);
    if (m?.[1] && /debian/.test(m[1])) return new URL(m[1]).hostname;
  }
  throw new Error("no Debian mirror in the apt sources: the attack suite needs one as its outside target");
}

/** x86_64 syscall numbers of the blocked calls the suite probes. */
const SYSCALL_NR: Record<string, number> = {
  ptrace: 101,
  process_vm_readv: 310,
  process_vm_writev: 311,
  kcmp: 312,
  mount: 165,
  umount2: 166,
  pivot_root: 155,
  chroot: 161,
  unshare: 272,
  setns: 308,
  reboot: 169,
  kexec_load: 246,
  kexec_file_load: 320,
  init_module: 175,
  finit_module: 313,
  delete_module: 176,
  swapon: 167,
  swapoff: 168,
  bpf: 321,
  perf_event_open: 298,
  keyctl: 250,
  add_key: 248,
  request_key: 249,
  userfaultfd: 323,
  io_uring_setup: 425,
  io_uring_enter: 426,
  io_uring_register: 427,
  open_by_handle_at: 304,
  name_to_handle_at: 303,
  fsopen: 430,
  open_tree: 428,
  move_mount: 429,
  fsmount: 432,
};

/**
 * Calls each syscall with arguments that do nothing harmful when allowed (ptrace attaches to a pid
 * that does not exist), and prints its errno: 1 (EPERM) is the seccomp profile's answer.
 */
const PROBE = `
import ctypes, json, sys
libc = ctypes.CDLL(None, use_errno=True)
nrs = json.loads(sys.argv[1])
out = {}
for name, nr in nrs.items():
    args = [16, 999999, 0, 0] if name == "ptrace" else [0, 0, 0, 0]
    ctypes.set_errno(0)
    r = libc.syscall(nr, *[ctypes.c_long(a) for a in args])
    out[name] = 0 if r >= 0 else ctypes.get_errno()
print(json.dumps(out))
`;

const STATUS = `grep -E '^(CapEff|CapBnd|CapPrm|NoNewPrivs|Seccomp):' /proc/self/status`;

/** Python that allocates 64 MiB at a time until something stops it (one line: it goes in `-c "..."`). */
const ALLOCATE = "chunks = []; exec('while True: chunks.append(bytearray(64 * 1024 * 1024))')";

const BOMB = ":(){ :|:& };:";

describe("attack suite: from inside a running sandbox, every way out fails", () => {
  const engine = new DockerEngine();
  const docker = new Docker();
  const mirror = mirrorHost();
  const realKey = `sk-ocbox-real-${randomBytes(12).toString("hex")}`;
  const canary = `OCBOX_CANARY_${randomBytes(8).toString("hex")}`;
  const workDir = mkdtempSync(join(tmpdir(), "ocbox-attack-"));
  const ws = join(workDir, "workspace");
  const decisionLog = join(workDir, "state", "egress.jsonl");
  let mirrorIp = "";
  let bridgeIp = "";
  let sandbox: StartedSandbox;
  let taskImages: ImageSet;
  let model: ScriptedModel;
  let gatewayFront: Server;
  const seenAuth: string[] = [];
  /** Each request the model's front saw, for the message when the key check fails. */
  const seenRequests: string[] = [];
  let allowedListener: TcpServer;
  let allowedPort = 0;
  let hiddenListener: TcpServer;
  let hiddenPort = 0;
  const hiddenHits: string[] = [];
  let dnsTrap: UdpSocket | undefined;
  const dnsTrapHits: string[] = [];
  let dnsTrapPort = 0;
  const gatewayPort = 18080;

  const sh = async (script: string, env?: Record<string, string>) =>
    engine.exec(sandbox.agentId, ["bash", "-c", script], env ? { env } : {});
  const py = async (code: string, ...args: string[]) =>
    engine.exec(sandbox.agentId, ["python3", "-c", code, ...args]);
  /**
   * A command run the way the agent's own tools run it: by the server's shell, a descendant of the
   * container's init. Under gVisor this matters: runsc (2022-12-19) applies the seccomp profile to
   * the container's process tree but not to `docker exec` processes, so the checks of seccomp run
   * here (`exec` shows the difference explicitly). Output is stdout and stderr together.
   *
   * The server's shell runs a command as `eval "<command>"` with newlines escaped, so `$?` is
   * expanded before the command runs and a multi-line script breaks: the argv goes into a script
   * file (written by an exec into the container's /tmp, which the agent's tree shares) and the
   * shell runs that file, exit codes and all.
   */
  let agentScripts = 0;
  const agentTree = async (argv: string[]): Promise<{ stdout: string }> => {
    const file = `/tmp/ocbox-agent-tree-${++agentScripts}.sh`;
    const quoted = argv.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
    const put = await sh(`printf '%s\\n' "$SCRIPT" > ${file}`, { SCRIPT: quoted });
    if (put.exitCode !== 0) throw new Error(`writing ${file}: ${put.stdout}${put.stderr}`);
    const client = await sandbox.client();
    const session = await client.session.create({});
    const sessionID = session.data?.id;
    if (!sessionID) throw new Error("no session for the agent's shell");
    const r = await client.session.shell({ sessionID, agent: "build", command: `bash ${file} 2>&1` });
    const tool = (r.data?.parts ?? []).find((p) => p.type === "tool");
    if (tool?.type !== "tool" || tool.state.status !== "completed")
      throw new Error(`the agent's shell did not run: ${JSON.stringify(r.error ?? r.data).slice(0, 400)}`);
    return { stdout: tool.state.output };
  };
  /** Under gVisor the agent's network errors come from gVisor's netstack (no route: host unreachable). */
  const UNREACHABLE = TEST_RUNTIME ? "EHOSTUNREACH" : "ENETUNREACH";
  /**
   * Under gVisor, an attack that ends its whole sandbox (memory past the limit, a fork bomb that
   * fills the host-side PID backstop) runs as the agent's own tool call in a task of its own
   * (runTask, the scripted model drives bash), so the suite's sandbox lives on. With the host's
   * event-loop lag over the task.
   */
  const attackTask = async (command: string) => {
    const taskModel = await startScriptedModel({
      scenario: {
        turns: [
          { toolCalls: [{ name: "bash", arguments: { command, description: "attack", timeout: 120_000 } }] },
          { text: '```json\n{"outcome":"COMPLETE"}\n```' },
        ],
      },
    });
    const config = testConfig().config ?? defaultProjectConfig();
    let lagMs = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      lagMs = Math.max(lagMs, now - last - 50);
      last = now;
    }, 50);
    try {
      const result = await runTask({
        workspace: mkdtempSync(join(workDir, "task-")),
        prompt: "Run the step.",
        model: "scripted/scripted",
        opencodeConfig: scriptedOpencodeConfig(taskModel.url),
        engine,
        images: taskImages,
        config: { ...config, limits: { ...config.limits, memory: "1g", pids: 256 } },
      });
      return { result, lagMs };
    } finally {
      clearInterval(timer);
      await taskModel.close();
    }
  };
  /** No container of this process is left but the suite's own sandbox. */
  const expectOnlyOurSandbox = async () => {
    const ours = await engine.listContainers([`${LABEL.ownerPid}=${process.pid}`], true);
    expect(ours.filter((c) => c.labels[LABEL.run] !== sandbox.spec.runId)).toEqual([]);
  };

  beforeAll(async () => {
    mirrorIp = (await lookup(mirror, { family: 4 })).address;
    // The default bridge's gateway: an address of the host itself.
    const bridge = (await docker.getNetwork("bridge").inspect()) as {
      IPAM?: { Config?: Array<{ Gateway?: string; Subnet?: string }> };
    };
    const config = bridge.IPAM?.Config ?? [];
    // dockerd records the gateway only when it was set; otherwise it is the subnet's first address.
    const subnet = config.find((c) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(c.Subnet ?? ""))?.Subnet;
    bridgeIp = config.find((c) => c.Gateway)?.Gateway ?? (subnet ? subnet.replace(/\.\d+\/\d+$/, ".1") : "");
    if (!bridgeIp) throw new Error("the engine's bridge network has no gateway address");
    const images = await ensureImages(engine);
    taskImages = images;
    // The model server, behind a front that records the Authorization header it receives.
    model = await startScriptedModel({
      scenario: {
        turns: [
          // OpenCode's own HTTP client must go through the proxy: webfetch an allowed URL.
          {
            toolCalls: [{ name: "webfetch", arguments: { url: `http://${mirror}/debian/`, format: "text" } }],
          },
          { text: 'Fetched.\n```json\n{"outcome":"COMPLETE"}\n```' },
        ],
      },
    });
    gatewayFront = createHttpServer((req, res) => {
      seenAuth.push(req.headers.authorization ?? "");
      seenRequests.push(
        `${req.method} ${req.url} auth=${req.headers.authorization ? "set" : "none"} ua=${req.headers["user-agent"] ?? ""}`,
      );
      const up = httpRequest(
        { host: "127.0.0.1", port: model.port, path: req.url, method: req.method, headers: req.headers },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      req.pipe(up);
    });
    await new Promise<void>((r) => gatewayFront.listen(0, "127.0.0.1", r));
    const frontPort = (gatewayFront.address() as { port: number }).port;
    // A host port on the list, and one that is not (on every address of the host).
    allowedListener = createTcpServer((s) => s.end("allowed-port-ok\n"));
    await new Promise<void>((r) => allowedListener.listen(0, "127.0.0.1", r));
    allowedPort = (allowedListener.address() as { port: number }).port;
    hiddenListener = createTcpServer((s) => {
      hiddenHits.push(String(s.remoteAddress));
      s.end("leak\n");
    });
    await new Promise<void>((r) => hiddenListener.listen(0, "0.0.0.0", r));
    hiddenPort = (hiddenListener.address() as { port: number }).port;
    // A resolver trap on the bridge gateway (CVE-2024-29018: engines before 26 forward DNS of
    // internal networks from the host's namespace). Port 53 when free, else any port; on the
    // wildcard address when the gateway is not up on this host (Podman's bridge exists only while
    // a container uses it), which catches a query to any of the host's addresses.
    const traps: Array<[number, string]> = [
      [53, bridgeIp],
      [0, bridgeIp],
      [0, "0.0.0.0"],
    ];
    for (const [port, address] of traps) {
      try {
        const s = createSocket("udp4");
        s.on("message", (_m, from) => dnsTrapHits.push(`${from.address}:${from.port}`));
        await new Promise<void>((resolve, reject) => {
          s.once("error", reject);
          s.bind(port, address, () => resolve());
        });
        dnsTrap = s;
        dnsTrapPort = s.address().port;
        break;
      } catch {
        /* try the next */
      }
    }
    if (dnsTrap === undefined) throw new Error(`no UDP port to bind for the DNS trap (gateway ${bridgeIp})`);
    process.env[canary] = "host-secret";

    mkdtempSync(join(workDir, "x"));
    writeFileSync(join(workDir, "outside.txt"), `${canary}\n`);
    const { mkdirSync } = await import("node:fs");
    mkdirSync(ws);
    copyFileSync("/etc/ssl/certs/ca-certificates.crt", join(ws, "host-ca.crt"));
    const host = currentHostUser();
    const spec: SandboxSpec = {
      sandboxId: "attack",
      runId: newRunId(),
      workspace: ws,
      images: { sandbox: images.sandbox.tag, egress: images.egress.tag },
      agentUser: agentUserFor(host, AGENT_UID),
      hostUser: host,
      forwardPorts: [allowedPort],
      hostPort: 0,
      env: {},
      egress: {
        // `localhost` is listed on purpose: an allowed name that resolves to the host itself.
        allow: [`.${mirror}`, "localhost"],
        gateways: [{ agentPort: gatewayPort, upstream: `http://127.0.0.1:${frontPort}`, key: realKey }],
        decisionLog,
      },
      opencodeConfig: {
        model: "scripted/scripted",
        small_model: "scripted/scripted",
        permission: { "*": "allow" },
        provider: {
          scripted: {
            npm: "@ai-sdk/openai-compatible",
            name: "Scripted",
            // The agent holds a placeholder; the gateway sends the real key.
            options: { baseURL: `http://127.0.0.1:${gatewayPort}/v1`, apiKey: "placeholder" },
            models: { scripted: { name: "scripted" } },
          },
        },
      },
      limits: { memoryBytes: 1536 * 1024 ** 2, nanoCpus: 1e9, pids: 256, nofile: 1024 },
      server: { logLevel: "INFO", printLogs: true },
      lifetime: "session",
      readyTimeoutMs: 120_000,
      ...testHardening(),
    };
    sandbox = await startSandbox(engine, spec);
  });

  afterAll(async () => {
    const runId = sandbox?.spec.runId;
    await sandbox?.stop();
    delete process.env[canary];
    await model?.close();
    gatewayFront?.close();
    allowedListener?.close();
    hiddenListener?.close();
    dnsTrap?.close();
    if (runId) expect(await engine.listContainers([`${LABEL.run}=${runId}`])).toEqual([]);
  });

  // --- what must work ------------------------------------------------------------------------

  it("the model endpoint works through the gateway, which holds the real key; OpenCode uses the proxy", async () => {
    const client = await sandbox.client();
    const session = await client.session.create({});
    const id = session.data?.id;
    if (!id) throw new Error("no session");
    const reply = await client.session.prompt({ sessionID: id, parts: [{ type: "text", text: "fetch" }] });
    const text = (reply.data?.parts ?? []).map((p) => ("text" in p ? p.text : "")).join("");
    expect(text).toContain('"outcome":"COMPLETE"');
    // The model server saw only the real key, never the agent's placeholder.
    expect(seenAuth.length).toBeGreaterThan(0);
    expect(new Set(seenAuth), seenRequests.join("\n")).toEqual(new Set([`Bearer ${realKey}`]));
    // OpenCode's webfetch went out through the proxy: the proxy logged and allowed it.
    const decisions = await sandbox.egressDecisions();
    expect(decisions).toContainEqual(
      // (webfetch may upgrade the URL to HTTPS: either way the proxy decided it)
      expect.objectContaining({ host: mirror, decision: "allow", rule: `.${mirror}` }),
    );
    expect(decisions).toContainEqual(
      expect.objectContaining({ decision: "allow", rule: "model gateway gw0", method: "POST" }),
    );
  });

  // What this engine cannot apply, as the CI leg declares it (rootless Podman on cgroup v1:
  // OCBOX_EXPECT_WEAKENINGS=engine.limits.memory,engine.limits.cpu,engine.limits.pids). The
  // profile must list exactly those (no silent weakening, no other), and the limit tests below
  // then check that the warning is there instead of playing an attack the engine cannot stop.
  const expectedWeakenings = (process.env.OCBOX_EXPECT_WEAKENINGS ?? "").split(",").filter(Boolean);
  const weakened = (limit: string) => expectedWeakenings.includes(`engine.limits.${limit}`);

  it("the idle sidecar stays small (goal: under 30 MB)", async () => {
    // No cgroup of its own (rootless on cgroup v1): the engine reports the machine's memory.
    if (weakened("memory")) return;
    const bytes = (await engine.memoryUsage(sandbox.egressId)) ?? 0;
    const squid = await engine.exec(sandbox.egressId, ["bash", "-c", "ps -o rss=,comm= -e"]);
    console.log(`egress sidecar memory: ${(bytes / 1024 ** 2).toFixed(1)} MiB (cgroup)\n${squid.stdout}`);
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThan(30 * 1024 ** 2);
  });

  it("an allowed domain works through the proxy, over HTTP and HTTPS (spliced, not decrypted)", async () => {
    const r = await sh(
      `curl -sS -o /dev/null -w '%{http_code}' http://${mirror}/debian/ && echo &&` +
        ` curl -sS -o /dev/null -w '%{http_code}' --cacert /workspace/host-ca.crt https://${mirror}/debian/`,
    );
    expect(r.stdout.split("\n")).toEqual(["200", "200"]);
  });

  it("an allowed host port works at 127.0.0.1 inside", async () => {
    const r = await sh(`exec 3<>/dev/tcp/127.0.0.1/${allowedPort} && cat <&3`);
    expect(r.stdout).toBe("allowed-port-ok\n");
  });

  // --- egress: the proxy -----------------------------------------------------------------------

  it("HTTPS to a domain off the list is refused by the proxy, which names the host and the fix", async () => {
    const r = await sh("curl -sS -o /dev/null https://registry.npmjs.org/");
    // The denied CONNECT is answered inside TLS with the sidecar's throwaway cert, so it fails here.
    expect(r.exitCode).toBe(60);
    const page = await sh("curl -sk -w '\\n%{http_code}' https://registry.npmjs.org/");
    expect(page.stdout).toContain("registry.npmjs.org is not on this sandbox's allowlist");
    expect(page.stdout).toContain("    - registry.npmjs.org");
    expect(page.stdout.trim().split("\n").pop()).toBe("403");
    const plain = await sh("curl -sS -w '\\n%{http_code}' http://registry.npmjs.org/");
    expect(plain.stdout.trim().split("\n").pop()).toBe("403");
  });

  it("a lookalike of an allowed domain is refused", async () => {
    for (const host of [`evil${mirror}`, `${mirror}.evil.example`]) {
      const r = await sh(`curl -s -o /dev/null -w '%{http_code}' http://${host}/`);
      expect(r.stdout, host).toBe("403");
    }
    const d = await sandbox.egressDecisions();
    expect(d).toContainEqual(expect.objectContaining({ host: `evil${mirror}`, decision: "deny" }));
  });

  it("a CONNECT to an allowed name carrying another host's SNI is terminated", async () => {
    // curl sends CONNECT mirror:443 but a ClientHello for registry.npmjs.org.
    const r = await sh(
      `curl -sS -o /dev/null --connect-to registry.npmjs.org:443:${mirror}:443 https://registry.npmjs.org/`,
    );
    expect(r.exitCode).toBe(35);
    const d = await sandbox.egressDecisions();
    expect(d).toContainEqual(
      expect.objectContaining({ host: mirror, port: 443, decision: "deny", sni: "registry.npmjs.org" }),
    );
  });

  it("the mirror's IP literal through the proxy is refused (the list names hosts)", async () => {
    const r = await sh(`curl -s -w '\\n%{http_code}' http://${mirrorIp}/debian/`);
    expect(r.stdout.trim().split("\n").pop()).toBe("403");
    const s = await sh(`curl -sS -o /dev/null https://${mirrorIp}/`);
    expect(s.exitCode).not.toBe(0);
    const d = await sandbox.egressDecisions();
    expect(d).toContainEqual(
      expect.objectContaining({
        host: mirrorIp,
        decision: "deny",
        rule: "IP address (the allowlist names hosts)",
      }),
    );
  });

  it("the proxy never reaches the host itself: loopback, unlisted ports, an allowed name resolving to it", async () => {
    for (const url of [
      `http://127.0.0.1:${hiddenPort}/`,
      `http://${bridgeIp}:${hiddenPort}/`,
      `http://localhost:${hiddenPort}/`,
      "http://127.0.0.1:2375/version",
    ]) {
      // --noproxy '': send even loopback URLs to the proxy (NO_PROXY lists them).
      const r = await sh(
        `curl -s -o /dev/null -w '%{http_code}' --noproxy '' --proxy http://127.0.0.1:3128 '${url}'`,
      );
      expect(r.stdout, url).toBe("403");
    }
    // `localhost` is on the list, but it resolves to the host: refused with its own message.
    const local = await sh("curl -s --noproxy '' --proxy http://127.0.0.1:3128 http://localhost/");
    expect(local.stdout).toContain("resolves to an address of the host itself");
    const tunnel = await sh(`curl -sS -o /dev/null --noproxy '' https://localhost:${hiddenPort}/`);
    expect(tunnel.exitCode).not.toBe(0);
    expect(hiddenHits).toEqual([]);
  });

  it("the link-local metadata range is refused by the proxy and has no route", async () => {
    const r = await sh("curl -s -o /dev/null -w '%{http_code}' http://169.254.169.254/latest/meta-data/");
    expect(r.stdout).toBe("403");
    // No route at all: the kernel's route tables are empty (only loopback exists).
    const routes = await sh("tail -n +2 /proc/net/route; grep -v ' lo$' /proc/net/ipv6_route || true");
    expect(routes.stdout.trim()).toBe("");
    const ifaces = await sh("ls /sys/class/net");
    expect(ifaces.stdout.trim()).toBe("lo");
  });

  // --- egress: around the proxy ----------------------------------------------------------------

  const connect = (host: string, port: number, family = "AF_INET") => `
import socket, errno
s = socket.socket(socket.${family}, socket.SOCK_STREAM); s.settimeout(5)
try:
    s.connect((${JSON.stringify(host)}, ${port})); print("connected")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
`;

  it("ignoring the proxy variables gets nowhere: no DNS, no route", async () => {
    const r = await sh(
      "env -u HTTPS_PROXY -u https_proxy -u HTTP_PROXY -u http_proxy curl -sS https://registry.npmjs.org/",
    );
    expect(r.exitCode).toBe(6); // could not resolve host
    const d = await sh(`curl -sS --noproxy '*' http://${mirrorIp}/`);
    expect(d.exitCode).toBe(7);
    expect(d.stderr).toMatch(/Network is unreachable|Couldn't connect/);
  });

  it("a direct connection to the mirror's IP, over IPv4 and IPv6, is unreachable at once", async () => {
    for (const port of [80, 443]) expect((await py(connect(mirrorIp, port))).stdout.trim()).toBe(UNREACHABLE);
    // An IPv4-mapped address: no IPv4 source address exists, so the kernel refuses at once.
    expect((await py(connect(`::ffff:${mirrorIp}`, 443, "AF_INET6"))).stdout.trim()).toMatch(
      /^(ENETUNREACH|EHOSTUNREACH|EADDRNOTAVAIL)$/,
    );
    expect((await py(connect("2001:db8::1", 443, "AF_INET6"))).stdout.trim()).toMatch(
      /^(ENETUNREACH|EHOSTUNREACH|EADDRNOTAVAIL)$/,
    );
  });

  it("host ports not on the list, the bridge gateway and the engine's API port are unreachable", async () => {
    // Inside, 127.0.0.1 is the agent's own loopback: the host's listener is not there.
    expect((await py(connect("127.0.0.1", hiddenPort))).stdout.trim()).toBe("ECONNREFUSED");
    expect((await py(connect("127.0.0.1", 2375))).stdout.trim()).toBe("ECONNREFUSED");
    // The bridge gateway (the host's wildcard listeners: the trap of ARCHITECTURE decision 3).
    expect((await py(connect(bridgeIp, hiddenPort))).stdout.trim()).toBe(UNREACHABLE);
    expect((await py(connect(bridgeIp, 2375))).stdout.trim()).toBe(UNREACHABLE);
    expect(hiddenHits).toEqual([]);
    // The host's Docker socket is not there.
    const sock = await sh(
      "ls -l /var/run/docker.sock /run/docker.sock 2>&1; curl -sS --unix-socket /var/run/docker.sock http://x/version",
    );
    expect(sock.stdout).toMatch(/No such file or directory/);
    expect(sock.exitCode).toBe(7);
  });

  it("another container on the engine's network is unreachable", async () => {
    const other = await docker.createContainer({
      Image: sandbox.spec.images.sandbox,
      Entrypoint: ["sleep", "120"],
      Labels: { [LABEL.run]: sandbox.spec.runId },
      HostConfig: { NetworkMode: "bridge", AutoRemove: true, ...(await plainUlimits(engine)) },
    });
    await other.start();
    try {
      // Docker names its default network "bridge", Podman "podman": take the one it is on.
      const networks = Object.values((await other.inspect()).NetworkSettings.Networks);
      const ip = networks[0]?.IPAddress ?? "";
      expect(ip).toMatch(/^\d+\./);
      expect((await py(connect(ip, 22))).stdout.trim()).toBe(UNREACHABLE);
    } finally {
      await other.remove({ force: true });
    }
  });

  it("raw UDP and ICMP go nowhere", async () => {
    const r = await py(`
import socket, errno
def attempt(f):
    try:
        f(); return "sent"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
print(attempt(lambda: u.sendto(b"x", (${JSON.stringify(mirrorIp)}, 443))))
print(attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)))
print(attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)))
print(attempt(lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW)))
`);
    // UDP: no route; ping sockets: no group may open them; raw and packet sockets: no CAP_NET_RAW.
    // gVisor ignores net.ipv4.ping_group_range, so a ping socket opens there, on a netstack with
    // nothing but loopback: a ping goes nowhere (its send is EHOSTUNREACH, checked below).
    expect(r.stdout.trim().split("\n")).toEqual([
      UNREACHABLE,
      TEST_RUNTIME ? "sent" : "EACCES",
      "EPERM",
      "EPERM",
    ]);
    if (TEST_RUNTIME) {
      const ping = await py(`
import socket, errno
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
try:
    s.sendto(b"\\x08\\0\\0\\0\\0\\0\\0\\0", (${JSON.stringify(mirrorIp)}, 0)); print("sent")
except OSError as e:
    print(errno.errorcode.get(e.errno))
`);
      expect(ping.stdout.trim()).toBe("EHOSTUNREACH");
    }
  });

  it("DNS: no resolver inside, a query straight to an outside address has no route, nothing reaches the host (CVE-2024-29018)", async () => {
    const conf = await sh("cat /etc/resolv.conf");
    expect(conf.stdout).toMatch(/^nameserver 127\.0\.0\.1$/m);
    expect(conf.stdout).not.toMatch(/nameserver (?!127\.0\.0\.1)/);
    // The same file on every engine (Podman writes none without a network: ocbox puts it in).
    expect(conf.stdout).toMatch(/^options timeout:1 attempts:1$/m);
    const get = await sh(`getent hosts ${mirror}; echo "exit=$?"`);
    expect(get.stdout.trim()).toBe("exit=2");
    const r = await py(`
import socket, errno
try:
    socket.getaddrinfo(${JSON.stringify(mirror)}, 443); print("resolved")
except socket.gaierror as e:
    print("gaierror", e.errno)
q = b"\\x12\\x34\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x04exfil\\x07example\\x00\\x00\\x01\\x00\\x01"
for target in [(${JSON.stringify(mirrorIp)}, 53), (${JSON.stringify(bridgeIp)}, ${dnsTrapPort}), ("127.0.0.11", 53)]:
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(2)
    try:
        u.sendto(q, target); u.recvfrom(512); print("answered")
    except OSError as e:
        print(errno.errorcode.get(e.errno, "timeout") if e.errno else "timeout")
`);
    const [resolved, toMirror, toBridge, toEmbedded] = r.stdout.trim().split("\n");
    expect(resolved).toMatch(/^gaierror -[23]$/); // EAI_AGAIN / EAI_NONAME: no server answered
    expect(toMirror).toBe(UNREACHABLE);
    expect(toBridge).toBe(UNREACHABLE);
    // Docker's embedded resolver address is just the agent's own loopback: nothing answers there.
    expect(toEmbedded).toMatch(/^(ECONNREFUSED|timeout)$/);
    await new Promise((res) => setTimeout(res, 500));
    expect(dnsTrapHits).toEqual([]);
  });

  // --- hardening -------------------------------------------------------------------------------

  it("no capabilities, no-new-privileges and seccomp filtering, beside a default container", async () => {
    if (TEST_RUNTIME) {
      // runsc filters the container's own tree but not a `docker exec` process (said explicitly),
      // and gVisor's /proc/self/status has no NoNewPrivs line.
      expect((await sh(STATUS)).stdout).toMatch(/Seccomp:\s+0/);
    }
    const ours = TEST_RUNTIME ? await agentTree(["bash", "-c", STATUS]) : await sh(STATUS);
    const fields = Object.fromEntries(
      ours.stdout
        .trim()
        .split("\n")
        .map((l) => l.split(/:\s+/) as [string, string]),
    );
    expect(fields).toMatchObject({
      CapEff: "0000000000000000",
      CapPrm: "0000000000000000",
      CapBnd: "0000000000000000",
      ...(TEST_RUNTIME ? {} : { NoNewPrivs: "1" }),
      Seccomp: "2",
    });
    const probeNrs = JSON.stringify(SYSCALL_NR);
    const probeOut = TEST_RUNTIME
      ? await agentTree(["python3", "-c", PROBE, probeNrs])
      : await py(PROBE, probeNrs);
    const oursProbe = JSON.parse(probeOut.stdout) as Record<string, number>;
    // A default container: root, the engine's default capabilities and seccomp profile.
    const plain = await docker.createContainer({
      Image: sandbox.spec.images.sandbox,
      Entrypoint: ["sleep", "120"],
      User: "0:0",
      Labels: { [LABEL.run]: sandbox.spec.runId },
      HostConfig: { NetworkMode: "none", AutoRemove: true, ...(await plainUlimits(engine)) },
    });
    await plain.start();
    let defaultProbe: Record<string, number>;
    let defaultStatus: string;
    try {
      const run = async (cmd: string[]) => {
        const ex = await plain.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
        const stream = await ex.start({});
        const chunks: Buffer[] = [];
        await new Promise<void>((res) => {
          stream.on("data", (c: Buffer) => chunks.push(c));
          stream.on("end", () => res());
        });
        // Strip the multiplexing headers.
        const buf = Buffer.concat(chunks);
        let out = "";
        for (let i = 0; i + 8 <= buf.length;) {
          const len = buf.readUInt32BE(i + 4);
          out += buf.subarray(i + 8, i + 8 + len).toString();
          i += 8 + len;
        }
        return out;
      };
      defaultStatus = await run(["bash", "-c", STATUS]);
      defaultProbe = JSON.parse(await run(["python3", "-c", PROBE, probeNrs])) as Record<string, number>;
    } finally {
      await plain.remove({ force: true });
    }
    const report = Object.keys(SYSCALL_NR).map(
      (name) =>
        `${name.padEnd(18)} default container: errno ${defaultProbe[name]}  ocbox: errno ${oursProbe[name]}`,
    );
    console.log(
      ["ocbox agent:", ours.stdout.trim(), "default container:", defaultStatus.trim(), ...report].join("\n"),
    );
    for (const name of Object.keys(SYSCALL_NR)) {
      expect(BLOCKED_SYSCALLS).toContain(name);
      expect(oursProbe[name], name).toBe(1); // EPERM from the profile
    }
    // The profile blocks what a default container allows: the difference is seccomp, not caps.
    for (const name of ["ptrace", "chroot", "io_uring_setup", "io_uring_enter", "io_uring_register"]) {
      expect(defaultProbe[name], name).not.toBe(1);
    }
  });

  it("mount, ptrace, unshare and loading a module fail; setuid binaries give nothing", async () => {
    const inTree = (script: string) => (TEST_RUNTIME ? agentTree(["bash", "-c", script]) : sh(script));
    const r = await inTree(
      [
        "mkdir -p /tmp/m; mount -t tmpfs none /tmp/m 2>&1; echo mount=$?",
        "unshare -r true 2>&1; echo unshare=$?",
        "unshare -n true 2>&1; echo unsharen=$?",
        "su -c id root </dev/null 2>&1; echo su=$?",
        `python3 -c 'import os; os.setuid(0)' 2>&1 | tail -1`,
      ].join("; "),
    );
    expect(r.stdout).toMatch(/must be superuser|Operation not permitted|permission denied/i);
    expect(r.stdout).toMatch(/mount=(1|32)/);
    expect(r.stdout).toMatch(/unshare: unshare failed: Operation not permitted\s+unshare=1/);
    expect(r.stdout).toMatch(/unsharen=1/);
    expect(r.stdout).not.toMatch(/uid=0/);
    expect(r.stdout).toMatch(/PermissionError: \[Errno 1\] Operation not permitted/);
    const modPy = `
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
print(libc.syscall(313, -1, b"", 0), ctypes.get_errno())
`;
    const mod = TEST_RUNTIME ? await agentTree(["python3", "-c", modPy]) : await py(modPy);
    expect(mod.stdout.trim()).toBe("-1 1");
  });

  it("the root filesystem is read-only", async () => {
    const r = await sh("touch /evil 2>&1; mkdir /usr/local/evil 2>&1; ln -s x /etc/evil 2>&1; true");
    // gVisor checks the permission on / (root's, 0755) before the mount's read-only flag.
    const denied = TEST_RUNTIME ? /Read-only file system|Permission denied/g : /Read-only file system/g;
    expect(r.stdout.match(denied)?.length).toBe(3);
    expect(r.stdout.match(/Read-only file system/g)?.length).toBeGreaterThanOrEqual(2);
    const root = await sh("awk '$5 == \"/\" {print $6}' /proc/self/mountinfo");
    expect(root.stdout.trim().split(",")).toContain("ro");
    // Writable places are tmpfs or the workspace only.
    expect((await sh("touch /tmp/ok /workspace/ok && echo ok")).stdout.trim()).toBe("ok");
  });

  it("the host's environment, its files and the real provider key are nowhere inside", async () => {
    const env = await sh("cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n'");
    expect(env.stdout).toContain("HTTPS_PROXY=http://127.0.0.1:3128");
    expect(env.stdout).not.toContain(canary);
    expect(env.stdout).not.toContain(realKey);
    const grep = await sh(
      `grep -rIlsF -e '${realKey}' -e '${canary}' / --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev; echo "exit=$?"`,
    );
    expect(grep.stdout.trim()).toMatch(/^exit=[12]$/); // no file listed (2: some files unreadable)
    // Only the workspace, the run dir, the socket volume and resolv.conf come from the host.
    const mounts = await sh("awk '{print $5}' /proc/self/mountinfo | sort");
    const points = mounts.stdout.trim().split("\n");
    expect(points).toContain("/workspace");
    expect(points).not.toContain("/run/ocbox/egress");
    expect(points.filter((p) => p.startsWith(workDir))).toEqual([]);
  });

  it("the sandbox is weakened by exactly what the leg expects of this engine, and says so", async () => {
    const profile = securityProfile(sandbox.spec, await engine.capabilities());
    expect(profile.unsafe).toEqual(expectedWeakenings);
    const warnings = securityLines(profile).filter((l) => l.includes("WARNING"));
    expect(warnings).toHaveLength(expectedWeakenings.length);
    for (const key of expectedWeakenings)
      expect(warnings.join("\n")).toContain(`WARNING   ${key}: the engine enforces no`);
  });

  it("allocating past the memory limit kills the allocator, not the sandbox (under gVisor: the sandbox, as a clear task failure)", async () => {
    if (weakened("memory")) return; // listed and warned about above; nothing would stop it
    if (TEST_RUNTIME) {
      // The sentry sizes its kernel by the container's limit (MemTotal), but this runsc has no OOM
      // killer of its own: the engine's, on the host, ends the sentry and so the whole sandbox.
      const meminfo = await sh("head -1 /proc/meminfo");
      expect(meminfo.stdout).toMatch(new RegExp(`^MemTotal:\\s+${1536 * 1024} kB`));
      const { result, lagMs } = await attackTask(`python3 -c "${ALLOCATE}"; echo exit=$?; sleep 60`);
      expect(result).toMatchObject({
        outcome: "ERROR",
        failureReason: "INFRASTRUCTURE",
        failureKind: "SANDBOX",
      });
      expect(result.hint).toMatch(
        /under runsc ended during the task: the engine's OOM killer ended it at the memory limit \(1024 MiB\)/,
      );
      expect(result.security).toEqual({ runtime: TEST_RUNTIME });
      expect(lagMs).toBeLessThan(2000);
      await expectOnlyOurSandbox();
      return;
    }
    const limit = await sh(
      "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes",
    );
    expect(Number(limit.stdout.trim())).toBe(1536 * 1024 ** 2);
    const r = await py(ALLOCATE);
    expect(r.exitCode).toBe(137); // SIGKILL from the OOM killer
    expect((await fetch(`${sandbox.server.url}/global/health`)).status).toBe(401);
  });

  it("a fork bomb stops at the PID limit and the host stays responsive", async () => {
    if (weakened("pids")) return; // listed and warned about above; nothing would stop it
    let maxLag = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      maxLag = Math.max(maxLag, now - last - 50);
      last = now;
    }, 50);
    try {
      const r = await py(`
import os, time, errno
pids = []
err = None
try:
    while len(pids) < 5000:
        pid = os.fork()
        if pid == 0:
            time.sleep(20); os._exit(0)
        pids.append(pid)
except OSError as e:
    err = errno.errorcode.get(e.errno)
print(len(pids), err)
for p in pids: os.kill(p, 9)
for p in pids: os.waitpid(p, 0)
`);
      const [count, err] = r.stdout.trim().split(" ");
      expect(err).toBe("EAGAIN");
      expect(Number(count)).toBeLessThan(256);
      if (TEST_RUNTIME) {
        // A bomb that keeps going under gVisor grows the host tasks of the ptrace platform (~500 a
        // second here) until the host-side backstop (gvisorHostTasks, never over 4096) ends the
        // sentry: the task ends as a clear failure, the host keeps its PID space and stays responsive.
        const { result, lagMs } = await attackTask(
          `timeout -s KILL 10 bash -c '${BOMB}' 2>&1 | tail -1; sleep 60`,
        );
        expect(result).toMatchObject({
          outcome: "ERROR",
          failureReason: "INFRASTRUCTURE",
          failureKind: "SANDBOX",
        });
        expect(result.hint).toMatch(/under runsc ended during the task/);
        maxLag = Math.max(maxLag, lagMs);
        await expectOnlyOurSandbox();
        return;
      }
      const bash = await sh(
        `timeout -s KILL 10 bash -c '${BOMB}' 2>&1 | grep -m1 -o 'Resource temporarily unavailable'; true`,
      );
      expect(bash.stdout).toContain("Resource temporarily unavailable");
      const started = performance.now();
      expect((await fetch(`${sandbox.server.url}/global/health`)).status).toBe(401);
      expect(performance.now() - started).toBeLessThan(5000);
    } finally {
      clearInterval(timer);
    }
    expect(maxLag).toBeLessThan(2000);
  });

  it("after the run, the decision log is JSONL in the state dir and suggests the denied hosts", async () => {
    await sandbox.stop();
    const decisions = fromJsonl(readFileSync(decisionLog, "utf8"));
    expect(decisions.some((d) => d.decision === "allow" && d.host === mirror)).toBe(true);
    const sug = suggestions(decisions, [`.${mirror}`, "localhost"]);
    expect(sug).toContainEqual(
      expect.objectContaining({ host: "registry.npmjs.org", entry: "registry.npmjs.org" }),
    );
    expect(sug.find((s) => s.host === mirrorIp)?.entry).toBeUndefined();
  });
});
