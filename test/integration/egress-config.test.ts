/**
 * The egress keys of ocbox.yaml through the built `ocbox` (issue 4 follow-up): restricted mode and
 * a model gateway from the config, the security profile in the summary, a detached sandbox that
 * keeps working after `up --detach` exited and other ocbox commands ran the reaper, `ocbox egress
 * log|suggest`, and `ocbox down` keeping the decisions. Network targets: the host of Debian's
 * mirror from this machine's apt sources (denied by the proxy) and listeners this test starts.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { createServer as createHttpServer, request as httpRequest, type Server } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { fromJsonl, type Decision } from "../../src/egress/decisions.js";
import { DockerEngine } from "../../src/runtime/docker-engine.js";
import { LABEL } from "../../src/runtime/labels.js";
import { startScriptedModel, type ScriptedModel } from "../../src/scripted-model/server.js";
import {
  containersOf,
  makeProject,
  removeHome,
  serverClient,
  tempHome,
  type TestProject,
} from "../helpers/project.js";

function mirrorHost(): string {
  const files = ["/etc/apt/sources.list"];
  const dir = "/etc/apt/sources.list.d";
  if (existsSync(dir)) for (const f of readdirSync(dir)) files.push(join(dir, f));
  for (const file of files) {
    if (!existsSync(file)) continue;
    const m = /^(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(https?:\/\/[^\s]+)/m.exec(readFileSync(file, "utf8"));
    if (m?.[1] && /debian/.test(m[1])) return new URL(m[1]).hostname;
  }
  throw new Error("no Debian mirror in the apt sources");
}

const mirror = mirrorHost();
const realKey = `sk-ocbox-gw-${randomBytes(12).toString("hex")}`;
const GATEWAY_PORT = 9101;
let model: ScriptedModel;
let front: Server;
let frontPort = 0;
const seenAuth: string[] = [];
let home: string;
let p: TestProject;
let sandboxId = "";

beforeAll(async () => {
  model = await startScriptedModel({
    scenario: {
      models: ["scripted"],
      turns: Array.from({ length: 4 }, (_, i) => [
        { match: "gw-prompt", text: `gateway answer ${i}` },
      ]).flat(),
      side: [{ match: "title", text: "a title" }],
    },
  });
  // In front of the model: records the Authorization header the gateway sends.
  front = createHttpServer((req, res) => {
    seenAuth.push(req.headers.authorization ?? "");
    const up = httpRequest(
      { host: "127.0.0.1", port: model.port, path: req.url, method: req.method, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    req.pipe(up);
  });
  await new Promise<void>((r) => front.listen(0, "127.0.0.1", r));
  frontPort = (front.address() as { port: number }).port;
  home = await tempHome();
  p = await makeProject(home, "gated");
  const init = await p.run(["init", "--yes", "--json"]);
  expect(init.code, init.stderr).toBe(0);
  await writeFile(
    join(p.root, "ocbox.yaml"),
    [
      "egress:",
      "  restricted: true",
      "  gateways:",
      `    - upstream: http://127.0.0.1:${frontPort}`,
      `      port: ${GATEWAY_PORT}`,
      "      keyEnv: OCBOX_TEST_GATEWAY_KEY_HOST",
      "model:",
      `  baseURL: http://127.0.0.1:${GATEWAY_PORT}/v1`,
      "  apiKeyEnv: GW_TEST_KEY",
      "  models:",
      "    scripted: {}",
      "env:",
      "  map:",
      "    GW_TEST_KEY: GW_TEST_KEY",
      "autonomous: true",
      "",
    ].join("\n"),
  );
  sandboxId = await p.sandboxId();
});

afterAll(async () => {
  if (p) await p.run(["down"]);
  if (sandboxId) expect(await containersOf([sandboxId])).toEqual([]);
  await model?.close();
  front?.close();
  if (home) await removeHome(home);
});

it("a detached sandbox with a restricted config and a gateway: summary, reaper, egress log/suggest, down", async () => {
  // The key is in a host variable the gateway reads, and also (as a leak attempt) mapped into the agent.
  const env = { OCBOX_TEST_GATEWAY_KEY_HOST: realKey, GW_TEST_KEY: realKey };
  const upRun = await p.run(["up", "--detach", "--approve-hook"], env);
  expect(upRun.code, upRun.stderr).toBe(0);
  expect(upRun.stdout).toMatch(/network\s+none; relays on 127\.0\.0\.1: proxy 3128, gateway 9101/);
  expect(upRun.stdout).toMatch(/egress\s+restricted/);
  expect(upRun.stdout).toMatch(
    new RegExp(`gateway\\s+127\\.0\\.0\\.1:9101 -> http://127\\.0\\.0\\.1:${frontPort} \\(key from host`),
  );
  expect(upRun.stdout).toMatch(/seccomp ocbox \(\d+ calls blocked\)/);
  expect(upRun.stdout).not.toMatch(/WARNING/);
  expect(upRun.stdout + upRun.stderr).not.toContain(realKey);

  // The `up --detach` process is gone. `up` again runs the reaper (not `clean`: it would touch
  // other people's stopped sandboxes on this engine); the sidecar's volume must stay.
  const containers = await containersOf([sandboxId]);
  const egressVolume = containers.find((c) => c.labels[LABEL.role] === "egress")?.labels[LABEL.egressVolume];
  expect(egressVolume).toBeTruthy();
  const again = await p.run(["up", "--detach", "--json"], env);
  expect(JSON.parse(again.stdout)).toMatchObject({ status: "already-running" });
  expect(await new DockerEngine().volumeExists(egressVolume as string)).toBe(true);

  // The model works through the gateway: the upstream sees only the real key.
  const status = JSON.parse((await p.run(["status", "--json"])).stdout) as { sandbox: { url: string } };
  const client = serverClient(status.sandbox.url, await p.password());
  const session = await client.session.create({ title: "gw" });
  const reply = await client.session.prompt({
    sessionID: session.data?.id as string,
    parts: [{ type: "text", text: "gw-prompt" }],
  });
  expect((reply.data?.parts ?? []).map((x) => (x.type === "text" ? x.text : "")).join("")).toMatch(
    /^gateway answer/,
  );
  expect(seenAuth.length).toBeGreaterThan(0);
  expect(new Set(seenAuth)).toEqual(new Set([`Bearer ${realKey}`]));

  // The key is nowhere in the agent container; restricted mode denies the mirror.
  const inside = await p.run([
    "exec",
    "--",
    "sh",
    "-c",
    `env; tr '\\0' '\\n' </proc/1/environ; cat $OPENCODE_CONFIG; echo; curl -s -o /dev/null -w '%{http_code}\\n' http://${mirror}/debian/`,
  ]);
  expect(inside.stdout).toContain("GW_TEST_KEY=ocbox-gateway-holds-the-key");
  expect(inside.stdout).not.toContain(realKey);
  expect(inside.stdout.trim().split("\n").at(-1)).toBe("403");

  // egress log shows the live decisions; suggest prints the YAML to add.
  const log = await p.run(["egress", "log", "--json"]);
  expect(log.code, log.stderr).toBe(0);
  const live = JSON.parse(log.stdout) as { decisions: Decision[]; live: number };
  expect(live.live).toBeGreaterThan(0);
  expect(live.decisions).toContainEqual(expect.objectContaining({ host: mirror, decision: "deny" }));
  expect(live.decisions).toContainEqual(
    expect.objectContaining({ decision: "allow", rule: "model gateway gw0" }),
  );
  const human = await p.run(["egress", "log"]);
  expect(human.stdout).toMatch(new RegExp(`DENY\\s+GET\\s+${mirror.replace(/\./g, "\\.")}:80`));
  const suggest = await p.run(["egress", "suggest"]);
  expect(suggest.code, suggest.stderr).toBe(0);
  expect(suggest.stdout).toMatch(/egress:\n {2}allow:\n {4}- \S+/);
  expect(suggest.stdout).toMatch(/egress\.restricted is on/);

  // down moves the decisions into the state dir, and the sidecar's volume goes.
  const down = await p.run(["down", "--json"]);
  expect(down.code, down.stderr).toBe(0);
  expect((JSON.parse(down.stdout) as { egressDecisions: number }).egressDecisions).toBeGreaterThan(0);
  expect(await new DockerEngine().volumeExists(egressVolume as string)).toBe(false);
  const kept = fromJsonl(readFileSync(join(await p.stateDir(), "egress.jsonl"), "utf8"));
  expect(kept).toContainEqual(expect.objectContaining({ host: mirror, decision: "deny" }));
  const after = JSON.parse((await p.run(["egress", "log", "--json"])).stdout) as {
    decisions: Decision[];
    live: number;
  };
  expect(after.live).toBe(0);
  expect(after.decisions.length).toBe(kept.length);
});

it("unsafe.hostDockerSocket: asked for by name, the socket works inside and the summary warns", async () => {
  const d = await makeProject(home, "docker-sock");
  expect((await d.run(["init", "--yes", "--json"])).code).toBe(0);
  await writeFile(join(d.root, "ocbox.yaml"), "unsafe:\n  hostDockerSocket: true\n");
  const id = await d.sandboxId();
  try {
    const r = await d.run(["up", "--detach", "--approve-hook"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/WARNING\s+unsafe\.hostDockerSocket: .*controls the host's engine/);
    const json = await d.run(["up", "--detach", "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ status: "already-running" });
    const inside = await d.run([
      "exec",
      "--",
      "sh",
      "-c",
      "id -u; curl -s --unix-socket /var/run/docker.sock http://docker/version",
    ]);
    expect(inside.code, inside.stderr).toBe(0);
    expect(inside.stdout.split("\n")[0]).not.toBe("0");
    expect(inside.stdout).toContain('"ApiVersion"');
  } finally {
    await d.run(["down"]);
    expect(await containersOf([id])).toEqual([]);
  }
});
