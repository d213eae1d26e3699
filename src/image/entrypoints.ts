import { RUN_DIR, SERVER_PORT, SOCKET_DIR } from "./dockerfile.js";

/**
 * The agent container has no network interface but loopback. Its only ways out are Unix sockets
 * in a shared volume, served by the egress sidecar:
 *   - 127.0.0.1:PORT inside  →  $SOCKET_DIR/fwd-PORT.sock  →  the sidecar  →  host 127.0.0.1:PORT
 *   - the sidecar's 127.0.0.1:HOSTPORT on the host  →  $SOCKET_DIR/server.sock  →  opencode serve
 * The server password arrives as a file in the run dir and is set in the server's environment only.
 */
export const agentEntrypoint = `#!/bin/bash
# ocbox agent entrypoint. Runs as the agent user under tini; never as root.
set -euo pipefail
SOCK=${SOCKET_DIR}
RUN=${RUN_DIR}
for port in \${OCBOX_FORWARD_PORTS:-}; do
  socat -lf /dev/null TCP-LISTEN:"$port",bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:"$SOCK/fwd-$port.sock" &
done
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

export const egressEntrypoint = `#!/bin/bash
# ocbox egress sidecar entrypoint: relays between the agent's Unix sockets and the host.
set -euo pipefail
SOCK=${SOCKET_DIR}
for port in \${OCBOX_FORWARD_PORTS:-}; do
  rm -f "$SOCK/fwd-$port.sock"
  socat UNIX-LISTEN:"$SOCK/fwd-$port.sock",fork,mode=600 TCP:127.0.0.1:"$port" &
done
if [ -n "\${OCBOX_PUBLISH:-}" ]; then
  socat TCP-LISTEN:"\${OCBOX_PUBLISH##*:}",bind="\${OCBOX_PUBLISH%:*}",fork,reuseaddr UNIX-CONNECT:"$SOCK/server.sock" &
fi
echo "ocbox egress ready"
trap 'kill -TERM $(jobs -p) 2>/dev/null; exit 0' TERM INT
# Any relay that dies takes the sidecar down with it, so a failure is never silent.
wait -n
echo "ocbox egress: a relay exited" >&2
exit 1
`;
