/**
 * A running egress sidecar switched to another phase's policy (a Harbor task's shared verifier,
 * issue 15 item 5): a new squid.conf with that policy and no model gateway, written into the
 * sidecar's own volume (no agent container mounts it) and loaded with `squid -k reconfigure`.
 * The agent's processes are gone by then, and its policy never held the new phase's hosts.
 *
 * Squid reloads in the background: the new config carries a marker name that only it answers
 * (302), and the switch waits until the proxy answers the marker so.
 */
import { randomBytes } from "node:crypto";
import { OcboxError } from "../errors.js";
import { EGRESS_DIR } from "../image/dockerfile.js";
import type { EgressSpec } from "../egress/spec.js";
import { squidConfig } from "../egress/squid.js";
import type { Engine } from "../runtime/engine.js";
import { packFiles } from "./archive-files.js";
import { SQUID_PORTS, squidPaths } from "./egress-sidecar.js";

/** The phase's squid.conf (no gateways: a phase after the agent has no model) and its marker. Pure. */
export function phaseSquidConfig(egress: EgressSpec, marker: string): string {
  const open = egress.public === true && egress.restricted !== true;
  return squidConfig({
    allow: egress.restricted || egress.public ? [] : egress.allow,
    ...(open ? { public: true } : {}),
    proxyPort: SQUID_PORTS.proxy,
    gateways: [],
    phaseMarker: marker,
    paths: squidPaths(false),
  });
}

/** A bash script, run in the sidecar, that exits 0 once the proxy answers the marker with 302. */
const probeScript = (marker: string) => `for try in $(seq 1 100); do
  if exec 3<>/dev/tcp/127.0.0.1/${SQUID_PORTS.proxy}; then
    printf 'GET http://${marker}/ HTTP/1.0\\r\\n\\r\\n' >&3
    read -r status <&3 || status=
    exec 3>&-
    case "$status" in *" 302 "*) exit 0 ;; esac
  fi
  sleep 0.1
done
exit 1`;

/** Load `egress` into the running sidecar `egressId`; throws SANDBOX_START when it does not take. */
export async function switchEgressPolicy(
  engine: Engine,
  egressId: string,
  egress: EgressSpec,
): Promise<void> {
  const marker = `ocbox-phase-${randomBytes(6).toString("hex")}.invalid`;
  const ids = await engine.exec(egressId, ["sh", "-c", "id -u; id -g"]);
  const [uid = NaN, gid = NaN] = ids.stdout.trim().split("\n").map(Number);
  if (ids.exitCode !== 0 || !Number.isInteger(uid) || !Number.isInteger(gid))
    throw new OcboxError("SANDBOX_START", "the egress sidecar did not say its user", { detail: ids.stderr });
  const conf = [{ name: "squid.conf", content: phaseSquidConfig(egress, marker), mode: 0o600 }];
  await engine.putArchive(egressId, EGRESS_DIR, await packFiles(conf, { uid, gid }));
  const reload = await engine.exec(egressId, [
    "squid",
    "-k",
    "reconfigure",
    "-f",
    `${EGRESS_DIR}/squid.conf`,
  ]);
  if (reload.exitCode !== 0)
    throw new OcboxError("SANDBOX_START", "the egress proxy refused the verifier's policy", {
      detail: `${reload.stdout}${reload.stderr}`.trim(),
    });
  const probe = await engine.exec(egressId, ["bash", "-c", probeScript(marker)]);
  if (probe.exitCode !== 0)
    throw new OcboxError("SANDBOX_START", "the egress proxy did not load the verifier's policy within 10 s", {
      detail: (await engine.logsTail(egressId, 20)).trim(),
    });
}
