/**
 * Issue 4 follow-up: the egress keys of ocbox.yaml (restricted, gateways), their path into the
 * SandboxSpec and the executor's profile, the security profile in the startup summary, the
 * decision log of detached sandboxes, the reaper's in-use dirs, and the Docker socket opt-in.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pack as tarPack } from "tar-stream";
import { describe, expect, it } from "vitest";
import { parseProjectConfig } from "../../src/config/parse.js";
import { configErrorOf } from "../helpers/fixtures.js";
import {
  GATEWAY_KEY_PLACEHOLDER,
  egressSpecFromConfig,
  withholdGatewayKeys,
} from "../../src/egress/config.js";
import { fromJsonl } from "../../src/egress/decisions.js";
import {
  egressLogLines,
  egressLogReport,
  egressSuggestLines,
  egressSuggestReport,
} from "../../src/project/egress-log.js";
import { collectEgress, peekEgress } from "../../src/sandbox/egress-log.js";
import { ocboxYamlTemplate } from "../../src/project/init-templates.js";
import { projectSpec } from "../../src/project/spec.js";
import { stateLayout } from "../../src/util/state-layout.js";
import { startupSummary } from "../../src/project/summary.js";
import type { ContainerSpec, ContainerSummary } from "../../src/runtime/engine.js";
import { LABEL } from "../../src/runtime/labels.js";
import { DOCKER_SOCKET, agentContainer, resourceNames } from "../../src/sandbox/containers.js";
import { securityLines, securityProfile } from "../../src/sandbox/profile.js";
import { dirsInUse } from "../../src/sandbox/reaper.js";

const errorOf = configErrorOf;

describe("ocbox.yaml egress keys", () => {
  it("reads restricted mode and gateways", () => {
    const c = parseProjectConfig(
      [
        "egress:",
        "  restricted: true",
        "  gateways:",
        "    - upstream: https://api.openai.com",
        "      port: 9101",
        "      keyEnv: OPENAI_API_KEY",
        "    - { upstream: 'http://127.0.0.1:8080', port: 9102 }",
        "",
      ].join("\n"),
      "ocbox.yaml",
    );
    expect(c.egress.restricted).toBe(true);
    expect(c.egress.gateways).toEqual([
      { upstream: "https://api.openai.com", port: 9101, keyEnv: "OPENAI_API_KEY" },
      { upstream: "http://127.0.0.1:8080", port: 9102 },
    ]);
  });
  it("gives file:line errors with fixes: a path on the upstream, a taken port, a key instead of a name", () => {
    const path = errorOf(
      "egress:\n  gateways:\n    - upstream: https://api.openai.com/v1\n      port: 9101\n",
    );
    expect(path.message).toMatch(/^ocbox\.yaml:3:\d+: egress\.gateways\[0\]\.upstream: .*has a path/);
    expect(`${path.message}\n${path.detail ?? ""}`).toMatch(
      /fix: write just https:\/\/api\.openai\.com.*127\.0\.0\.1:<port>\/v1/,
    );

    const port = errorOf(
      "egress:\n  hostPorts: [9101]\n  gateways:\n    - { upstream: 'http://h:1', port: 9101 }\n",
    );
    expect(port.message).toMatch(
      /^ocbox\.yaml:4:\d+: egress\.gateways\[0\]\.port: 9101 is already host port 9101/,
    );
    expect(errorOf("egress:\n  gateways: [{ upstream: 'http://h:1', port: 3128 }]\n").message).toMatch(
      /egress proxy/,
    );

    const secret = errorOf(
      "egress:\n  gateways:\n    - upstream: https://api.openai.com\n      port: 9101\n      keyEnv: sk-Abcdefghijklmnop1234567890XYZ\n",
    );
    expect(secret.message).toMatch(/^ocbox\.yaml:5:\d+: egress\.gateways\[0\]\.keyEnv/);
    expect(JSON.stringify(secret)).not.toContain("Abcdefghijklmnop1234567890XYZ");

    expect(
      errorOf("egress:\n  gateways: [{ upstream: 'http://h:1', port: 9101, key: x }]\n").message,
    ).toMatch(/key/);
  });
  it("asks for the Docker socket by name only", () => {
    expect(parseProjectConfig("unsafe:\n  hostDockerSocket: true\n", "f").unsafe).toEqual({
      hostDockerSocket: true,
    });
    expect(errorOf("unsafe:\n  docker: true\n").message).toMatch(/unsafe\.docker/);
  });
});

describe("egress spec from the config", () => {
  const cfg = parseProjectConfig(
    "egress:\n  allow: [.github.com]\n  gateways:\n    - { upstream: 'https://api.openai.com', port: 9101, keyEnv: REAL_KEY }\n",
    "f",
  ).egress;
  it("reads the key from the host variable it names, and says which one when it is unset", () => {
    const spec = egressSpecFromConfig(cfg, { REAL_KEY: "sk-real-123456789" }, "/st/egress.jsonl");
    expect(spec).toEqual({
      allow: [".github.com"],
      gateways: [
        { agentPort: 9101, upstream: "https://api.openai.com", key: "sk-real-123456789", keyEnv: "REAL_KEY" },
      ],
      decisionLog: "/st/egress.jsonl",
    });
    expect(() => egressSpecFromConfig(cfg, {})).toThrow(
      /gateways\[0\]\.keyEnv: the host variable REAL_KEY is not set/,
    );
  });
  it("replaces every agent variable that holds a gateway key with a placeholder", () => {
    const spec = egressSpecFromConfig(cfg, { REAL_KEY: "sk-real-123456789" });
    const out = withholdGatewayKeys(
      { OPENAI_API_KEY: "sk-real-123456789", URL: "https://x:sk-real-123456789@h", OTHER: "fine" },
      spec,
    );
    expect(out.env).toEqual({
      OPENAI_API_KEY: GATEWAY_KEY_PLACEHOLDER,
      URL: GATEWAY_KEY_PLACEHOLDER,
      OTHER: "fine",
    });
    expect(out.withheld).toEqual(["OPENAI_API_KEY", "URL"]);
  });
  it("ocbox up: the key stays out of the agent's env, the gateway port is not a host port", () => {
    const config = parseProjectConfig(
      ocboxYamlTemplate("myapp") +
        "model:\n  baseURL: http://127.0.0.1:9101/v1\n  apiKeyEnv: OPENAI_API_KEY\n  models:\n    m: {}\n" +
        "unsafe:\n  hostDockerSocket: true\n",
      "ocbox.yaml",
    );
    const withGateway = {
      ...config,
      egress: {
        ...config.egress,
        restricted: true,
        gateways: [{ upstream: "https://api.openai.com", port: 9101, keyEnv: "OPENAI_API_KEY" }],
      },
    };
    const { spec } = projectSpec({
      project: { root: "/p", file: "/p/ocbox.yaml", config: withGateway, name: "myapp", sandboxId: "app-1" },
      hostEnv: { OPENAI_API_KEY: "sk-the-real-key-0815" },
      images: { sandbox: "s", egress: "e" },
      state: stateLayout("app-1", { XDG_STATE_HOME: "/st" }),
      password: "pw",
      agentUser: { uid: 1000, gid: 1000 },
      hostUser: { uid: 1000, gid: 1000 },
      runId: "r1",
      lifetime: "detached",
      authFile: "/a.json",
    });
    expect(spec.env.OPENAI_API_KEY).toBe(GATEWAY_KEY_PLACEHOLDER);
    expect(JSON.stringify(spec.env)).not.toContain("sk-the-real-key-0815");
    expect(JSON.stringify(spec.opencodeConfig)).not.toContain("sk-the-real-key-0815");
    expect(spec.forwardPorts).not.toContain(9101);
    expect(spec.egress).toMatchObject({
      restricted: true,
      decisionLog: "/st/ocbox/sandboxes/app-1/egress.jsonl",
    });
    expect(spec.egress?.gateways?.[0]).toMatchObject({ agentPort: 9101, key: "sk-the-real-key-0815" });
    expect(spec.hostDockerSocket).toBe(true);

    const lines = securityLines(securityProfile(spec)).join("\n");
    expect(lines).toMatch(/network\s+none; relays on 127\.0\.0\.1: proxy 3128, gateway 9101/);
    expect(lines).toMatch(
      /sidecar\s+proxy in its own network namespace \(ocbox-egress\); nothing in the host's namespace/,
    );
    expect(lines).toMatch(/egress\s+restricted/);
    expect(lines).toMatch(/127\.0\.0\.1:9101 -> https:\/\/api\.openai\.com \(key from host OPENAI_API_KEY/);
    expect(lines).toMatch(
      /no capabilities, no-new-privileges, read-only root, seccomp ocbox \(\d+ calls blocked\)/,
    );
    expect(lines).toMatch(/limits\s+memory 4g, cpus 2, pids 1024, nofile 4096/);
    expect(lines).toMatch(/WARNING\s+unsafe\.hostDockerSocket: .*controls the host's engine/);
    expect(lines).not.toContain("sk-the-real-key-0815");

    // The Docker socket, with its group, only when asked for by name.
    const names = resourceNames("app-1", "r1");
    const agent = agentContainer(spec, names, {}, undefined, 998);
    expect(agent.mounts).toContainEqual({ type: "bind", source: DOCKER_SOCKET, target: DOCKER_SOCKET });
    expect(agent.groupAdd).toEqual(["998"]);
    const plain = agentContainer({ ...spec, hostDockerSocket: false }, names, {}, undefined, 998);
    expect(plain.mounts.some((m) => m.source === DOCKER_SOCKET)).toBe(false);
    expect(plain.groupAdd).toBeUndefined();
    expect(plain.capDrop).toEqual(["ALL"]);
  });
  it("the summary shows the profile, and an unrestricted allowlist by its count", () => {
    const lines = startupSummary({
      sandboxId: "app-1",
      project: "/p",
      url: "http://127.0.0.1:1",
      env: { passed: [], skipped: [] },
      forwardPorts: [5432],
      stateDir: "/st",
      readyS: 1,
      detached: true,
      hookRan: false,
      security: {
        ...securityProfile({
          agentUser: { uid: 1000, gid: 1000 },
          forwardPorts: [5432],
          egress: { allow: [".github.com", "pypi.org"] },
          limits: { memoryBytes: 512 * 1024 ** 2, nanoCpus: 5e8, pids: 256, nofile: 1024 },
        } as Parameters<typeof securityProfile>[0]),
      },
    }).join("\n");
    expect(lines).toMatch(/egress\s+2 allowlist entries through the proxy, everything else denied/);
    expect(lines).toMatch(/relays on 127\.0\.0\.1: proxy 3128, host 5432/);
    expect(lines).toMatch(/sidecar .*a socat-only host relay in the host's namespace for host port 5432$/m);
    expect(lines).toMatch(/memory 512m, cpus 0\.5/);
    expect(lines).not.toMatch(/WARNING/);
  });
});

/**
 * What a fake engine holds: the egress volume's files as the sidecar left them (a link is a
 * link, a FIFO a FIFO), packed as the engine's archive endpoint would pack one path.
 */
type Held = { kind: "file"; text: string } | { kind: "symlink"; to: string } | { kind: "fifo" };
function fakeEngine(files: Map<string, Held>, volumes = new Set(["vol-1"])) {
  const made: string[] = [];
  const engine = {
    volumeExists: (name: string) => Promise.resolve(volumes.has(name)),
    createContainer: (spec: ContainerSpec) => {
      made.push(spec.mounts.map((m) => `${m.source}:${m.target}:${m.readOnly ? "ro" : "rw"}`).join(","));
      return Promise.resolve("reader");
    },
    removeContainer: () => Promise.resolve(undefined),
    getArchive: (_id: string, path: string) => {
      const name = path.slice(path.lastIndexOf("/") + 1);
      const held = files.get(name);
      if (!held) return Promise.resolve(undefined);
      const p = tarPack();
      if (held.kind === "file") p.entry({ name }, held.text);
      else if (held.kind === "symlink") p.entry({ name, type: "symlink", linkname: held.to });
      else p.entry({ name, type: "fifo" });
      p.finalize();
      return Promise.resolve(p as unknown as NodeJS.ReadableStream);
    },
  };
  return { engine, made };
}

describe("decision logs of detached sandboxes", () => {
  const access = [
    "1795444436.559 40000 CONNECT deb.debian.org 443 deb.debian.org 200 TCP_TUNNEL splice 203.0.113.80",
    "1795444436.646 40000 CONNECT registry.npmjs.org 443 registry.npmjs.org 200 TCP_DENIED bump -",
    "1795444437.000 41000 POST 127.0.0.1 8080 - 200 TCP_MISS - 127.0.0.1",
    "",
  ].join("\n");
  const staged = (decisionLog?: string, volume = "vol-1") => {
    const control = join(mkdtempSync(join(tmpdir(), "ocbox-egress-ctl-")), "r-1-1-abc.json");
    writeFileSync(
      control,
      JSON.stringify({
        version: 2,
        id: "r-1-1-abc",
        volume,
        image: "ocbox-egress:x",
        allow: [".debian.org"],
        gatewayPorts: { 41000: "gw0" },
        ...(decisionLog ? { decisionLog } : {}),
      }),
    );
    return control;
  };
  const holding = (text = access) => new Map<string, Held>([["access.log", { kind: "file", text }]]);
  it("are moved into the decision log once, whoever collects first, through a read-only reader", async () => {
    const log = join(mkdtempSync(join(tmpdir(), "ocbox-egress-unit-")), "state", "egress.jsonl");
    const control = staged(log);
    const { engine, made } = fakeEngine(holding());
    expect((await peekEgress(engine, "egress-1", "vol-1", control)).length).toBe(3);
    const first = await collectEgress(engine, control, "vol-1");
    expect(first.map((d) => [d.host, d.decision, d.rule])).toEqual([
      ["deb.debian.org", "allow", ".debian.org"],
      ["registry.npmjs.org", "deny", "not on the allowlist"],
      ["127.0.0.1", "allow", "model gateway gw0"],
    ]);
    expect(made).toEqual(["vol-1:/ocbox-egress:ro"]);
    expect(await collectEgress(engine, control, "vol-1", log)).toEqual([]);
    expect(fromJsonl(readFileSync(log, "utf8"))).toEqual(first);
    expect(existsSync(control)).toBe(false);
  });
  it("with no control record nothing is read, whatever the volume holds", async () => {
    const { engine, made } = fakeEngine(holding());
    expect(await peekEgress(engine, "egress-1", "vol-1", undefined)).toEqual([]);
    const missing = join(mkdtempSync(join(tmpdir(), "ocbox-egress-ctl-")), "r-1-1-abc.json");
    expect(await collectEgress(engine, missing, "vol-1")).toEqual([]);
    expect(made).toEqual([]);
  });
  it("a record for another volume is not used for this one, and is kept", async () => {
    const control = staged(join(tmpdir(), "never.jsonl"), "vol-2");
    const { engine } = fakeEngine(holding(), new Set(["vol-1", "vol-2"]));
    expect(await collectEgress(engine, control, "vol-1")).toEqual([]);
    expect(await peekEgress(engine, "egress-1", "vol-1", control)).toEqual([]);
    expect(existsSync(control)).toBe(true);
  });
  it("an access log that is a symlink or a FIFO is not read; a gone volume yields none", async () => {
    const control = staged();
    for (const held of [{ kind: "symlink", to: "/etc/shadow" }, { kind: "fifo" }] as Held[]) {
      const { engine } = fakeEngine(new Map([["access.log", held]]));
      expect(await peekEgress(engine, "egress-1", "vol-1", control)).toEqual([]);
    }
    const { engine, made } = fakeEngine(holding(), new Set());
    expect(await collectEgress(engine, control, "vol-1", join(tmpdir(), "x.jsonl"))).toEqual([]);
    expect(made).toEqual([]);
  });
  it("egress log and suggest render the decisions and the YAML to add", async () => {
    const control = staged();
    const decisions = await peekEgress(fakeEngine(holding()).engine, "egress-1", "vol-1", control);
    const d = { logFile: "/st/egress.jsonl", decisions, live: 3 };
    const log = egressLogLines(egressLogReport("app-1", d)).join("\n");
    expect(log).toMatch(/DENY\s+CONNECT registry\.npmjs\.org:443\s+not on the allowlist/);
    expect(log).toMatch(/2 allowed, 1 denied \(3 from the running sandbox\)/);
    const suggest = egressSuggestReport("app-1", d, [".debian.org"], false);
    expect(suggest.yaml).toBe("egress:\n  allow:\n    - registry.npmjs.org   # denied 1×\n");
    expect(egressSuggestLines(suggest).join("\n")).toMatch(/add registry\.npmjs\.org \(denied 1×\)/);
    expect(egressSuggestLines(egressSuggestReport("app-1", { ...d, decisions: [] }, [], false))).toEqual([
      "no denied hosts for app-1 (log: /st/egress.jsonl)",
    ]);
  });
});

describe("reaper: dirs in use", () => {
  const c = (labels: Record<string, string>): ContainerSummary => ({
    id: "x",
    name: "x",
    image: "i",
    state: "running",
    status: "",
    createdAt: new Date(0),
    labels,
  });
  it("counts the egress control record as in use, and an older ocbox's run dir", () => {
    const used = dirsInUse([
      c({ [LABEL.runDir]: "/run/r-1-1-a", [LABEL.role]: "agent" }),
      c({ [LABEL.egressVolume]: "v", [LABEL.egressControl]: "/ctl/r-1-1-b.json", [LABEL.role]: "egress" }),
      c({ [LABEL.runDir]: "" }),
    ]);
    expect([...used].sort()).toEqual(["/ctl/r-1-1-b.json", "/run/r-1-1-a"]);
  });
});
