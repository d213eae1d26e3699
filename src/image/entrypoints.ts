import {
  EGRESS_DIR,
  GATEWAY_TLS,
  GATEWAY_TLS_NAME,
  RELAY_DIR,
  AGENT_HOME,
  DATA_DIR,
  OPENCODE_DATA,
  RUN_DIR,
  SERVER_PORT,
  SIDECAR_TMP,
  SOCKET_DIR,
} from "./dockerfile.js";

/**
 * The agent container has no network interface but loopback. Its only ways out are Unix sockets
 * in a shared volume, served by the egress sidecar:
 *   - 127.0.0.1:PORT inside  →  $SOCKET_DIR/fwd-PORT.sock  →  the sidecar  →  host 127.0.0.1:PORT
 *   - the sidecar's 127.0.0.1:HOSTPORT on the host  →  $SOCKET_DIR/server.sock  →  opencode serve
 * The server password arrives as a file in the run dir and is set in the server's environment only.
 * The run dir's auth.json (a per-container copy, D2) is linked to where OpenCode reads it, and a
 * project's data volume (A3) becomes ~/.local.
 */
export const agentEntrypoint = `#!/bin/bash
# ocbox agent entrypoint. Runs as the agent user under tini; never as root.
set -euo pipefail
SOCK=${SOCKET_DIR}
RUN=${RUN_DIR}
for port in \${OCBOX_FORWARD_PORTS:-}; do
  socat -lf /dev/null TCP-LISTEN:"$port",bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:"$SOCK/fwd-$port.sock" &
done
# The host puts local/ in once per volume; where the volume's root is the agent's (Podman), an
# agent may have removed it since: make it again (under Docker the root is root's and this fails).
if [ -d ${DATA_DIR} ] && [ ! -e ${DATA_DIR}/local ] && [ ! -L ${DATA_DIR}/local ]; then
  mkdir ${DATA_DIR}/local 2>/dev/null || true
fi
if [ -d ${DATA_DIR}/local ] && [ ! -L ${AGENT_HOME}/.local ]; then
  ln -s ${DATA_DIR}/local ${AGENT_HOME}/.local
fi
if [ -f "$RUN/auth.json" ]; then
  mkdir -p ${OPENCODE_DATA}
  ln -sfn "$RUN/auth.json" ${OPENCODE_DATA}/auth.json
fi
rm -f "$SOCK/server.sock"
socat UNIX-LISTEN:"$SOCK/server.sock",fork,mode=600 TCP:127.0.0.1:${SERVER_PORT} &
args=(serve --hostname 127.0.0.1 --port ${SERVER_PORT} --log-level "\${OCBOX_SERVER_LOG_LEVEL:-INFO}")
if [ "\${OCBOX_PRINT_LOGS:-0}" = 1 ]; then args+=(--print-logs); fi
OPENCODE_SERVER_PASSWORD="$(cat "$RUN/server-password")" opencode "\${args[@]}" &
server=$!
trap 'kill -TERM "$server" 2>/dev/null' TERM INT
set +e
wait "$server"
code=$?
# A TERM interrupts the first wait; wait again for the server to finish shutting down.
if kill -0 "$server" 2>/dev/null; then wait "$server"; code=$?; fi
exit "$code"
`;

/**
 * One script for both egress containers, each given only its own variables:
 *   - the sidecar (its own network namespace): squid, the agent's relays to it, the server's
 *     published port, and (OCBOX_UPSTREAM_PORTS) squid's way to upstreams only the host reaches;
 *   - the host relay (the host's namespace, only when needed): socat and nothing else, for the
 *     listed host ports (OCBOX_FORWARD_PORTS) and those upstreams (OCBOX_UPSTREAMS).
 */
export const egressEntrypoint = `#!/bin/bash
# ocbox egress entrypoint: the proxy, and relays between the agent's Unix sockets and the outside.
set -euo pipefail
SOCK=${SOCKET_DIR}
EG=${EGRESS_DIR}
RELAY=${RELAY_DIR}
TMPD=${SIDECAR_TMP}
for port in \${OCBOX_FORWARD_PORTS:-}; do
  rm -f "$SOCK/fwd-$port.sock"
  socat UNIX-LISTEN:"$SOCK/fwd-$port.sock",fork,mode=600 TCP:127.0.0.1:"$port" &
done
for up in \${OCBOX_UPSTREAMS:-}; do
  target=\${up#*=}
  case "$target" in \[*) addr=TCP6:$target ;; *) addr=TCP4:$target ;; esac
  rm -f "$RELAY/up-\${up%%=*}.sock"
  socat UNIX-LISTEN:"$RELAY/up-\${up%%=*}.sock",fork,mode=600 "$addr" &
done
for up in \${OCBOX_UPSTREAM_PORTS:-}; do
  socat TCP-LISTEN:"\${up#*=}",bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:"$RELAY/up-\${up%%=*}.sock" &
done
if [ -f "$EG/squid.conf" ]; then
  mkdir -p "$TMPD"
  # A throwaway cert: squid needs one on an ssl-bump port, but it never decrypts allowed traffic.
  # It is only shown to a client whose CONNECT was denied (squid answers the denial inside TLS).
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \\
    -subj "/O=ocbox egress/CN=denied by the sandbox allowlist - see ocbox egress log" \\
    -keyout "$TMPD/cert.pem" -out "$TMPD/cert.pem" 2>/dev/null
  # The model gateway's TLS: squid's pair and the relay's client pair, made here in the tmpfs and
  # never anywhere else. The gateway ports accept no client but this relay (squid.ts).
  umask 077
  for pair in "${GATEWAY_TLS.serverPem} ${GATEWAY_TLS.serverCert}" "${GATEWAY_TLS.relayPem} ${GATEWAY_TLS.relayCert}"; do
    set -- $pair
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \\
      -subj "/CN=${GATEWAY_TLS_NAME}" -keyout "$1" -out "$1" 2>/dev/null
    openssl x509 -in "$1" -out "$2"
  done
  # The proxy never connects to the host itself: its own addresses, and the host's (the bridge
  # gateway and every interface of the host, which its namespace reaches; given by ocbox).
  { printf '%s\\n' \${OCBOX_HOST_ADDRS:-}
    awk '/\\/32 host LOCAL/ { print prev } $1 == "|--" { prev = $2 }' /proc/net/fib_trie
    awk '{ s = ""; for (i = 0; i < 8; i++) s = s (i ? ":" : "") substr($1, i * 4 + 1, 4); print s }' /proc/net/if_inet6
  } 2>/dev/null | sort -u > "$TMPD/local-addrs"
  squid -N -f "$EG/squid.conf" &
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/\${OCBOX_PROXY_PORT}") 2>/dev/null && break
    sleep 0.1
  done
fi
for relay in \${OCBOX_RELAYS:-}; do
  inside=\${relay%%:*}
  rm -f "$SOCK/fwd-$inside.sock"
  socat UNIX-LISTEN:"$SOCK/fwd-$inside.sock",fork,mode=600 TCP:127.0.0.1:"\${relay##*:}" &
done
for relay in \${OCBOX_GATEWAY_RELAYS:-}; do
  inside=\${relay%%:*}
  rm -f "$SOCK/fwd-$inside.sock"
  socat UNIX-LISTEN:"$SOCK/fwd-$inside.sock",fork,mode=600 \\
    OPENSSL:127.0.0.1:"\${relay##*:}",cert=${GATEWAY_TLS.relayPem},cafile=${GATEWAY_TLS.serverCert},commonname=${GATEWAY_TLS_NAME} &
done
if [ -n "\${OCBOX_PUBLISH:-}" ]; then
  socat TCP-LISTEN:"\${OCBOX_PUBLISH##*:}",bind="\${OCBOX_PUBLISH%:*}",fork,reuseaddr UNIX-CONNECT:"$SOCK/server.sock" &
fi
echo "ocbox egress ready"
trap 'kill -TERM $(jobs -p) 2>/dev/null; exit 0' TERM INT
# Any relay (or the proxy) that dies takes the sidecar down with it, so a failure is never silent.
wait -n
echo "ocbox egress: a relay or the proxy exited" >&2
exit 1
`;
