// The floor of `up --detach` on this machine: the same two containers ocbox's `up` makes (their
// create bodies copied from a sandbox it started, the same run files and sidecar files, the
// project's data volume), created, filled and started by a fresh Node process that only talks to
// the engine (node:http on its socket, no library, no planning, no checks), then the same wait
// for OpenCode's listening line. What is left of `up`'s time above it is ocbox's own work: the
// CLI's modules, the config and its approval, the reaper, the probe, the plan.
//
// `node bench/up-floor.js PLAN.json` replays a plan that captureFloorPlan wrote; it prints the
// replayed sandbox as JSON (its containers, volumes and the sidecar's host port) once the server
// listens. Only Docker's local Unix socket (DOCKER_HOST unix://… or /var/run/docker.sock).
import { request } from "node:http";
import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";

const SOCKET = (process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock").replace(/^unix:\/\//, "");
const FLOOR_LABEL = "dev.ocbox.bench.floor";

/** One engine call: method, path, body (JSON or a Buffer); resolves with status and body bytes. */
function call(method, path, body, { stream } = {}) {
  return new Promise((resolve, reject) => {
    const data =
      body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    const req = request(
      {
        socketPath: SOCKET,
        method,
        path,
        headers: {
          ...(data ? { "Content-Length": data.length } : {}),
          ...(data && !Buffer.isBuffer(body) ? { "Content-Type": "application/json" } : {}),
          ...(Buffer.isBuffer(body) ? { "Content-Type": "application/x-tar" } : {}),
        },
      },
      (res) => {
        if (stream) return resolve(res);
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const buf = Buffer.concat(chunks);
          if ((res.statusCode ?? 500) >= 300)
            reject(new Error(`${method} ${path}: ${res.statusCode} ${buf}`));
          else resolve(buf);
        });
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}
const json = async (method, path, body) => {
  const buf = await call(method, path, body);
  return buf.length ? JSON.parse(String(buf)) : undefined;
};

/** The create body of a container as inspect shows it: its Config and HostConfig, minus what the engine added. */
function createBody(info, rename) {
  const { Hostname: _h, Domainname: _d, Image: _i, Labels: _l, ...config } = info.Config;
  const host = { ...info.HostConfig };
  host.Mounts = (host.Mounts ?? []).map((m) =>
    m.Type === "volume" ? { ...m, Source: rename(m.Source) } : m,
  );
  return { ...config, Image: info.Image, Labels: { [FLOOR_LABEL]: "true" }, HostConfig: host };
}

/**
 * From a running `up` sandbox (its agent and sidecar ids): what the floor replays. The run's
 * volumes are made again under new names each replay (the project's data volume is reused, as a
 * warm `up` does); the run files and the sidecar's files are read back through the archive API.
 */
export async function captureFloorPlan({ agentId, egressId, dataVolume }) {
  const [agent, egress] = await Promise.all([
    json("GET", `/containers/${agentId}/json`),
    json("GET", `/containers/${egressId}/json`),
  ]);
  const runVolumes = [
    ...new Set(
      [agent, egress]
        .flatMap((c) => c.HostConfig.Mounts ?? [])
        .filter((m) => m.Type === "volume" && m.Source !== dataVolume)
        .map((m) => m.Source),
    ),
  ];
  const volumes = await Promise.all(
    runVolumes.map(async (name) => {
      const v = await json("GET", `/volumes/${name}`);
      return { name, driverOpts: v.Options ?? {} };
    }),
  );
  const archive = async (id, dir) =>
    (await call("GET", `/containers/${id}/archive?path=${encodeURIComponent(`${dir}/.`)}`)).toString(
      "base64",
    );
  return {
    volumes,
    agent: createBody(agent, (n) => n),
    egress: createBody(egress, (n) => n),
    puts: [
      { who: "agent", dir: "/run/ocbox/run", tar: await archive(agentId, "/run/ocbox/run") },
      { who: "egress", dir: "/run/ocbox/egress", tar: await archive(egressId, "/run/ocbox/egress") },
    ],
  };
}

/** Remove what a replay made (containers first, then its volumes). */
export async function removeFloor({ containers, volumes }) {
  for (const id of containers)
    await call("DELETE", `/containers/${id}?force=true&v=true`).catch(() => undefined);
  for (const name of volumes) await call("DELETE", `/volumes/${name}?force=true`).catch(() => undefined);
}

/** The replay: volumes, both containers, both archives, the agent's start, the sidecar's, the listening line. */
async function replay(plan) {
  const suffix = randomBytes(4).toString("hex");
  const rename = new Map(plan.volumes.map((v) => [v.name, `${v.name}-floor-${suffix}`]));
  const renamed = (body) => ({
    ...body,
    HostConfig: {
      ...body.HostConfig,
      Mounts: body.HostConfig.Mounts.map((m) =>
        m.Type === "volume" && rename.has(m.Source) ? { ...m, Source: rename.get(m.Source) } : m,
      ),
    },
  });
  await Promise.all(
    plan.volumes.map((v) =>
      json("POST", "/volumes/create", {
        Name: rename.get(v.name),
        DriverOpts: v.driverOpts,
        Labels: { [FLOOR_LABEL]: "true" },
      }),
    ),
  );
  const [agent, egress] = await Promise.all([
    json("POST", `/containers/create?name=floor-${suffix}-agent`, renamed(plan.agent)),
    json("POST", `/containers/create?name=floor-${suffix}-egress`, renamed(plan.egress)),
  ]);
  const ids = { agent: agent.Id, egress: egress.Id };
  await Promise.all(
    plan.puts.map((p) =>
      call(
        "PUT",
        `/containers/${ids[p.who]}/archive?path=${encodeURIComponent(p.dir)}`,
        Buffer.from(p.tar, "base64"),
      ),
    ),
  );
  await call("POST", `/containers/${ids.agent}/start`);
  // Since this process began (performance.now's origin), as OCBOX_TRACE counts for `up`.
  const agentStartedMs = performance.now();
  const logs = await call("GET", `/containers/${ids.agent}/logs?follow=1&stdout=1&stderr=1`, undefined, {
    stream: true,
  });
  const listening = new Promise((resolve) => {
    let seen = "";
    logs.on("data", (d) => {
      seen = (seen + d.toString("latin1")).slice(-4096);
      if (/opencode server listening on/.test(seen)) resolve();
    });
  });
  await call("POST", `/containers/${ids.egress}/start`);
  const info = await json("GET", `/containers/${ids.egress}/json`);
  const port = Number(
    Object.values(info.NetworkSettings.Ports ?? {})
      .flat()
      .find((b) => b?.HostIp === "127.0.0.1")?.HostPort,
  );
  await listening;
  logs.destroy();
  const listeningMs = performance.now();
  return {
    containers: [ids.agent, ids.egress],
    volumes: [...rename.values()],
    port,
    agentStartedMs,
    listeningMs,
  };
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const plan = JSON.parse(readFileSync(process.argv[2], "utf8"));
  process.stdout.write(`${JSON.stringify(await replay(plan))}\n`);
  process.exit(0);
}
