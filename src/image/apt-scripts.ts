import { APT_PREFIX } from "./dockerfile.js";

/**
 * Run-time package installs without root (FEATURES C9): the two scripts the sandbox image carries.
 *
 * - `ocbox-apt` runs in the agent container: it sends one request line over the helper's Unix
 *   socket and prints the answer, exiting with the helper's status.
 * - `ocbox-apt-helper` runs in the apt helper container (same image, the agent's uid, no
 *   capabilities, no-new-privileges, read-only root). It accepts only names that equal an entry of
 *   the allowlist, lets apt download them (and their missing dependencies) into its own tmpfs, and
 *   unpacks each .deb with `dpkg -x` into the prefix volume, which the agent mounts read-only.
 *   Maintainer scripts never run, and nothing the image already has is replaced.
 */

export { APT_PREFIX };
/**
 * The helper's socket, in the prefix volume (the agent may connect to a socket on its read-only
 * mount, but cannot remove or replace it). Not in the sidecar's socket volume: the helper never
 * shares a volume with the sidecar.
 */
export const APT_SOCKET = `${APT_PREFIX}/.ocbox-apt.sock`;
/** The helper's apt state and download cache (its own tmpfs). */
export const APT_STATE = "/tmp/ocbox-apt";
/** The config key named in every refusal. */
export const APT_CONFIG_KEY = "apt.allow";
/** The helper's last line of an answer: `@@ocbox-apt-exit N`. */
export const APT_EXIT_MARK = "@@ocbox-apt-exit";

export const aptClientScript = `#!/bin/bash
# ocbox-apt: install Debian packages this sandbox allows (${APT_CONFIG_KEY} in ocbox.yaml), without root.
# The request goes to ocbox's apt helper container; this script only sends names and prints the answer.
set -uo pipefail
SOCK=${APT_SOCKET}
usage() {
  cat <<'EOF'
usage: ocbox-apt install PACKAGE...   install allowed Debian packages (and their libraries)
       ocbox-apt list                 show the allowed and the installed packages
Packages are unpacked under ${APT_PREFIX} (on PATH and LD_LIBRARY_PATH) and last until the sandbox stops.
Only self-contained tools work well: package scripts (postinst) never run.
EOF
}
case "\${1:-}" in
  install | list) ;;
  -h | --help | help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac
for arg in "$@"; do
  if [[ $arg =~ [[:space:][:cntrl:]] ]]; then
    echo "ocbox-apt: a package name has no spaces or control characters" >&2
    exit 2
  fi
done
if [ ! -S "$SOCK" ]; then
  echo "ocbox-apt: run-time package installs are off in this sandbox" >&2
  echo "fix: list the packages under ${APT_CONFIG_KEY} in ocbox.yaml on the host and restart the sandbox" >&2
  exit 3
fi
code=""
while IFS= read -r line; do
  case $line in
    "${APT_EXIT_MARK} "*) code=\${line#"${APT_EXIT_MARK} "} ;;
    *) printf '%s\\n' "$line" ;;
  esac
done < <(printf '%s\\n' "$*" | socat -t 900 - UNIX-CONNECT:"$SOCK" 2>&1)
if ! [[ $code =~ ^[0-9]+$ ]]; then
  echo "ocbox-apt: the apt helper did not answer" >&2
  exit 1
fi
exit "$code"
`;

export const aptHelperScript = `#!/bin/bash
# ocbox apt helper (FEATURES C9). Serves ${APT_SOCKET}; a request is one line: "install NAME..." or
# "list". Every NAME must equal an entry of OCBOX_APT_ALLOW; nothing else reaches apt's command line.
set -uo pipefail
SOCK=${APT_SOCKET}
PREFIX=${APT_PREFIX}
STATE=${APT_STATE}
MANIFEST=$PREFIX/.ocbox-apt-installed
KEY=${APT_CONFIG_KEY}
read -r -a ALLOW <<< "\${OCBOX_APT_ALLOW:-}"
# apt as this non-root user: lists and downloads in the helper's tmpfs, no dpkg lock (dpkg never runs).
APT=(-q -o Dir::State::Lists="$STATE/lists" -o Dir::Cache="$STATE/cache" -o Dir::Log="$STATE/log"
  -o Debug::NoLocking=1 -o APT::Sandbox::User="$(id -un 2>/dev/null || id -u)"
  -o Acquire::Languages=none -o Acquire::GzipIndexes=true -o Dir::Cache::srcpkgcache=)
if [ -n "\${OCBOX_APT_CA:-}" ]; then APT+=(-o Acquire::https::CAInfo="$OCBOX_APT_CA"); fi

reply() { printf '%s\\n' "$*"; }
# The container's log (fd 3 is the server's stdout); never the agent's raw input.
log() { { printf 'ocbox apt helper: %s\\n' "$*" >&3; } 2>/dev/null || true; }
allowed() {
  local a
  for a in "\${ALLOW[@]}"; do [ "$a" = "$1" ] && return 0; done
  return 1
}

list() {
  reply "allowed ($KEY): \${ALLOW[*]:-(none)}"
  if [ -s "$MANIFEST" ]; then
    reply "unpacked into $PREFIX:"
    sed 's/^/  /' "$MANIFEST"
  else
    reply "nothing unpacked yet"
  fi
}

# dpkg -x keeps the archive's modes: drop setuid/setgid and group/other write (SECURITY.md).
strip_modes() {
  find "$PREFIX" -xdev -perm /6022 ! -type l -exec chmod ug-s,go-w {} +
}

install() {
  local deb name version status count=0
  log "install $*"
  if [ ! -e "$STATE/updated" ]; then
    reply "ocbox-apt: reading the package lists of the image's Debian mirror"
    if ! apt-get "\${APT[@]}" update 2>&1; then
      reply "ocbox-apt: apt-get update failed: the helper cannot reach the image's Debian mirror"
      return 4
    fi
    : > "$STATE/updated"
  fi
  rm -f "$STATE"/cache/archives/*.deb
  if ! apt-get "\${APT[@]}" install -y --download-only --no-install-recommends "$@" 2>&1; then
    reply "ocbox-apt: apt could not fetch $* (see above)"
    return 5
  fi
  for deb in "$STATE"/cache/archives/*.deb; do
    [ -e "$deb" ] || continue
    name=$(dpkg-deb -f "$deb" Package) version=$(dpkg-deb -f "$deb" Version)
    status=$(dpkg-query -W -f '\${Status}' "$name" 2>/dev/null || true)
    if [ "$status" = "install ok installed" ]; then
      reply "ocbox-apt: kept the image's $name; only packages the image lacks are unpacked ($version not used)"
    elif grep -qxF "$name $version" "$MANIFEST" 2>/dev/null; then
      reply "already unpacked: $name $version"
    elif dpkg -x "$deb" "$PREFIX" && strip_modes; then
      printf '%s %s\\n' "$name" "$version" >> "$MANIFEST"
      reply "unpacked $name $version"
      count=$((count + 1))
    else
      reply "ocbox-apt: could not unpack $name $version"
      return 6
    fi
  done
  rm -f "$STATE"/cache/archives/*.deb
  reply "ocbox-apt: done ($count new package(s) under $PREFIX, on PATH and LD_LIBRARY_PATH)"
  log "installed $* ($count new)"
}

handle() {
  local line="" words=() names=() n bad=0
  IFS= read -r -t 10 -n 4096 line || true
  read -r -a words <<< "$line"
  case "\${words[0]:-}" in
    list) list; return 0 ;;
    install) ;;
    *) reply "ocbox-apt: unknown request; use: ocbox-apt install PACKAGE..."; return 2 ;;
  esac
  names=("\${words[@]:1}")
  if [ \${#names[@]} -eq 0 ]; then
    reply "ocbox-apt: name at least one package"
    return 2
  fi
  for n in "\${names[@]}"; do
    if [[ $n == -* ]]; then
      reply "ocbox-apt: refused \\"$n\\": options are not accepted; ocbox runs apt with fixed options"
      bad=1
    elif [[ $n == *[=/]* ]]; then
      reply "ocbox-apt: refused \\"$n\\": versions and releases are not accepted; give the package name only"
      bad=1
    elif ! allowed "$n"; then
      reply "ocbox-apt: refused \\"$n\\": not on this sandbox's list ($KEY in ocbox.yaml)"
      bad=1
    fi
  done
  if [ "$bad" = 1 ]; then
    reply "allowed: \${ALLOW[*]:-(none)}"
    reply "fix: add the package to $KEY in ocbox.yaml on the host and restart the sandbox (an agent asks its user)"
    log "refused a request of \${#names[@]} name(s)"
    return 3
  fi
  # One install at a time: apt shares the lists and the download cache.
  exec 9> "$STATE/lock"
  flock 9
  install "\${names[@]}"
}

if [ "\${1:-}" = --handle ]; then
  handle
  code=$?
  printf '${APT_EXIT_MARK} %s\\n' "$code"
  exit 0
fi
mkdir -p "$STATE/lists/partial" "$STATE/cache/archives/partial" "$STATE/log" || exit 1
rm -f "$SOCK"
exec 3>&1
echo "ocbox apt helper ready; allowed: \${ALLOW[*]:-(none)}"
exec socat -t 900 UNIX-LISTEN:"$SOCK",fork,mode=600 EXEC:"$0 --handle",stderr
`;
