/**
 * FEATURES B4 through the built `ocbox`: a model gateway whose upstream is a container on another
 * Docker network (`egress.gateways[].network`). The test creates a labelled user network, runs the
 * scripted model on the host at that network's gateway address, and puts a relay container with
 * the alias `llama` on the network (socat from the egress image): the model server the user would
 * run there. The real OpenCode in the sandbox reaches it through the gateway, while the agent
 * container itself has no interface but `lo`. A missing network and a stopped container are
 * config errors that name the field. Network targets: only listeners and containers this test
 * starts.
 */
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ensureImages } from "../../src/image/build.js";
import { DockerEngine } from "../../src/runtime/docker-engine.js";
import { startScriptedModel, type ScriptedModel } from "../../src/scripted-model/server.js";
import {
  containersOf,
  makeProject,
  removeHome,
  serverClient,
  tempHome,
  type TestProject,
} from "../helpers/project.js";

const docker = new Docker();
const TEST_LABEL = "dev.ocbox.test";
const tag = `ocbox-test-llm-${randomBytes(4).toString("hex")}`;
const labels = { [TEST_LABEL]: tag };
const GATEWAY_PORT = 9102;

let home: string;
let model: ScriptedModel;
let gatewayIp = "";
const projects: TestProject[] = [];
const ids: string[] = [];

/** A container on the test network: a socat relay to the model (started), or an idle one. */
async function onNetwork(name: string, alias: string, start: boolean, egressImage: string): Promise<void> {
  const c = await docker.createContainer({
    name: `${tag}-${name}`,
    Image: egressImage,
    Entrypoint: ["socat"],
    Cmd: ["TCP-LISTEN:8080,fork,reuseaddr", `TCP:${gatewayIp}:${model.port}`],
    User: "65534:65534",
    Labels: labels,
    HostConfig: { NetworkMode: tag, CapDrop: ["ALL"], ReadonlyRootfs: true },
    NetworkingConfig: { EndpointsConfig: { [tag]: { Aliases: [alias] } } },
  });
  if (start) await c.start();
}

async function project(name: string, upstream: string, network: string): Promise<TestProject> {
  const p = await makeProject(home, name);
  projects.push(p);
  expect((await p.run(["init", "--yes", "--json"])).code).toBe(0);
  await writeFile(
    join(p.root, "ocbox.yaml"),
    [
      "egress:",
      "  restricted: true",
      "  gateways:",
      `    - upstream: ${upstream}`,
      `      port: ${GATEWAY_PORT}`,
      `      network: ${network}`,
      "model:",
      `  baseURL: http://127.0.0.1:${GATEWAY_PORT}/v1`,
      "  models:",
      "    scripted: {}",
      "autonomous: true",
      "",
    ].join("\n"),
  );
  ids.push(await p.sandboxId());
  return p;
}

beforeAll(async () => {
  home = await tempHome();
  const images = await ensureImages(new DockerEngine());
  const net = await docker.createNetwork({ Name: tag, Labels: labels, CheckDuplicate: true });
  const info = (await net.inspect()) as { IPAM?: { Config?: Array<{ Gateway?: string }> } };
  gatewayIp = info.IPAM?.Config?.find((c) => c.Gateway)?.Gateway ?? "";
  expect(gatewayIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  // The host's address on that network: the relay container reaches the model there.
  model = await startScriptedModel({
    host: gatewayIp,
    scenario: {
      models: ["scripted"],
      turns: [{ match: "net-prompt", text: "answer from llm-net" }],
      side: [{ match: "title", text: "a title" }],
    },
  });
  await onNetwork("llama", "llama", true, images.egress.tag);
  await onNetwork("sleepy", "sleepy", false, images.egress.tag);
});

afterAll(async () => {
  for (const p of projects) await p.run(["down"]);
  if (ids.length) expect(await containersOf(ids)).toEqual([]);
  const filters = JSON.stringify({ label: [`${TEST_LABEL}=${tag}`] });
  for (const c of await docker.listContainers({ all: true, filters })) {
    await docker.getContainer(c.Id).remove({ force: true });
  }
  await docker
    .getNetwork(tag)
    .remove()
    .catch(() => undefined);
  expect(await docker.listContainers({ all: true, filters })).toEqual([]);
  expect(await docker.listNetworks({ filters })).toEqual([]);
  await model?.close();
  if (home) await removeHome(home);
});

it("a gateway to a container on another Docker network: the model answers, the agent has only lo", async () => {
  const p = await project("llm-net", "http://llama:8080", tag);
  const up = await p.run(["up", "--detach", "--approve-hook"]);
  expect(up.code, up.stderr).toBe(0);
  expect(up.stdout).toMatch(
    new RegExp(`gateway\\s+127\\.0\\.0\\.1:${GATEWAY_PORT} -> http://llama:8080 on Docker network ${tag}`),
  );

  // From inside: the gateway port lists the model; the container has no interface but loopback
  // and no route anywhere.
  const inside = await p.run([
    "exec",
    "--",
    "sh",
    "-c",
    `curl -s -m 10 http://127.0.0.1:${GATEWAY_PORT}/v1/models; echo; ls /sys/class/net; echo routes=$(tail -n +2 /proc/net/route | wc -l)`,
  ]);
  expect(inside.code, inside.stderr).toBe(0);
  const [models, ...rest] = inside.stdout.trim().split("\n");
  expect(JSON.parse(models ?? "")).toMatchObject({ data: [expect.objectContaining({ id: "scripted" })] });
  expect(rest).toEqual(["lo", "routes=0"]);

  // The real OpenCode prompt goes the same way.
  const status = JSON.parse((await p.run(["status", "--json"])).stdout) as { sandbox: { url: string } };
  const client = serverClient(status.sandbox.url, await p.password());
  const session = await client.session.create({ title: "net" });
  const reply = await client.session.prompt({
    sessionID: session.data?.id as string,
    parts: [{ type: "text", text: "net-prompt" }],
  });
  expect((reply.data?.parts ?? []).map((x) => (x.type === "text" ? x.text : "")).join("")).toBe(
    "answer from llm-net",
  );
  expect(model.requests.some((r) => r.path.startsWith("/v1/chat/completions"))).toBe(true);

  expect((await p.run(["down"])).code).toBe(0);
});

it("a missing network or a stopped container stops `up` with the field and the fix, and nothing is left", async () => {
  const missing = await project("no-net", "http://llama:8080", `${tag}-missing`);
  const r1 = await missing.run(["up", "--detach", "--approve-hook"]);
  expect(r1.code).toBe(2);
  expect(r1.stderr).toContain(`egress.gateways[0].network: there is no Docker network "${tag}-missing"`);
  expect(r1.stderr).toContain(`docker network create ${tag}-missing`);

  const stopped = await project("stopped", "http://sleepy:8080", tag);
  const r2 = await stopped.run(["up", "--detach", "--approve-hook"]);
  expect(r2.code).toBe(2);
  expect(r2.stderr).toContain(
    `egress.gateways[0].network: container ${tag}-sleepy on network ${tag} is not running`,
  );
  expect(r2.stderr).toContain(`docker start ${tag}-sleepy`);

  expect(await containersOf(ids.slice(-2))).toEqual([]);
});
