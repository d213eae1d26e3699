/**
 * The agent entrypoint inside a task's own image (issue 15, item 3). It runs from the payload
 * (PID 1 is the payload's bash through the payload's loader), so it needs nothing of the image:
 * no bash, socat, tini or coreutils. Like the sandbox image's entrypoint it relays the agent's
 * loopback ports to the sidecar's sockets and the server to `server.sock`, then runs
 * `opencode serve`. When the server ends (ocbox stops the agent before the verifier), PID 1 stays,
 * so that a shared-mode verifier runs in the container the agent left; a TERM ends it.
 *
 * `server.sock` is 0666 in the socket dir, which is 0700 and the sidecar's: a root agent makes the
 * socket, the sidecar's non-root user connects to it.
 */
import { OPENCODE_DATA_REL, RUN_DIR, SERVER_PORT, SOCKET_DIR } from "./dockerfile.js";

const O = "/ocbox";

export const taskAgentEntrypoint = `# ocbox agent entrypoint for a task's own image (run by the payload's bash).
set -uo pipefail
O=${O}
L=("$O/lib/ld-linux-x86-64.so.2" --library-path "$O/lib")
run() { local b=$1; shift; "\${L[@]}" "$O/bin/$b" "$@"; }
SOCK=${SOCKET_DIR}
RUN=${RUN_DIR}
for port in \${OCBOX_FORWARD_PORTS:-}; do
  run socat -lf /dev/null TCP-LISTEN:"$port",bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:"$SOCK/fwd-$port.sock" &
done
if [ -f "$RUN/auth.json" ]; then
  run mkdir -p "$HOME/${OPENCODE_DATA_REL}"
  run ln -sfn "$RUN/auth.json" "$HOME/${OPENCODE_DATA_REL}/auth.json"
fi
run rm -f "$SOCK/server.sock"
run socat UNIX-LISTEN:"$SOCK/server.sock",fork,mode=666 TCP:127.0.0.1:${SERVER_PORT} &
args=(serve --hostname 127.0.0.1 --port ${SERVER_PORT} --log-level "\${OCBOX_SERVER_LOG_LEVEL:-INFO}")
if [ "\${OCBOX_PRINT_LOGS:-0}" = 1 ]; then args+=(--print-logs); fi
pw=$(<"$RUN/server-password")
if [ -n "\${OCBOX_OPENCODE_LIBS:-}" ]; then
  LD_LIBRARY_PATH="$OCBOX_OPENCODE_LIBS" OPENCODE_SERVER_PASSWORD="$pw" "$O/bin/opencode" "\${args[@]}" &
else
  OPENCODE_SERVER_PASSWORD="$pw" "$O/bin/opencode" "\${args[@]}" &
fi
server=$!
unset pw
trap 'kill -TERM "$server" 2>/dev/null; exit 0' TERM INT
wait "$server"
echo "ocbox: the agent's server ended; the container stays for the verifier"
while :; do run sleep 3600 & wait $!; done
`;
