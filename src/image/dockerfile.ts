/**
 * Dockerfile text for the two images ocbox builds. Pure: data in, text out.
 *
 * - The sandbox image runs the agent: OpenCode, a non-root user, an init, and an agent's tools.
 * - The egress image runs the sidecar: the only way in or out of a sandbox.
 */

export const AGENT_UID = 64000;
export const AGENT_HOME = "/home/agent";
export const WORKSPACE = "/workspace";
export const SOCKET_DIR = "/run/ocbox/sock";
export const RUN_DIR = "/run/ocbox/run";
/** The relay volume between the sidecar and the host relay (gateway upstreams); never the agent's. */
export const RELAY_DIR = "/run/ocbox/relay";
/** OpenCode's data dir (sessions) in the agent's home. */
/** OpenCode's data dir relative to a home. */
export const OPENCODE_DATA_REL = ".local/share/opencode";
export const OPENCODE_DATA = `${AGENT_HOME}/${OPENCODE_DATA_REL}`;
/**
 * Where a project's data volume is mounted; its `local/` dir (the agent's) becomes ~/.local by a
 * link the entrypoint makes (a volume's own root cannot be given to the agent through the API).
 */
export const DATA_DIR = "/run/ocbox/data";
/** Run-time packages (C9) are unpacked here by the apt helper; read-only in the agent. Not in the image. */
export const APT_PREFIX = "/opt/ocbox/apt";
/**
 * Put first on the agent's PATH under gVisor (hardening.runtime): busybox's `ls` and `stat`.
 * Coreutils' pass AT_NO_AUTOMOUNT to statx and fstatat, which Debian's runsc (2022-12-19) refuses
 * with EINVAL ("ls: cannot access '/': Invalid argument"); busybox's use plain lstat/stat.
 */
export const GVISOR_BIN = "/opt/ocbox/gvisor-bin";
export const GVISOR_BIN_TOOLS = ["ls", "stat"] as const;
/** Inside the agent container the server listens here; only the relay reaches it. */
export const SERVER_PORT = 4096;

/** Packages every sandbox image carries (FEATURES A10 adds the project's own). */
export const SANDBOX_PACKAGES = [
  "tini",
  "bash",
  "coreutils",
  "findutils",
  "grep",
  "ripgrep",
  "sed",
  "git",
  "ca-certificates",
  "curl",
  "python3",
  "socat",
  "procps",
  "less",
  "patch",
  "diffutils",
  // ls and stat under gVisor (GVISOR_BIN): the 2022-12 runsc refuses coreutils' AT_NO_AUTOMOUNT.
  "busybox",
] as const;

/** The sidecar: relays, and Squid built with OpenSSL (SNI peek and splice need it), openssl for its cert. */
export const EGRESS_PACKAGES = [
  "tini",
  "bash",
  "socat",
  "ca-certificates",
  "squid-openssl",
  "openssl",
] as const;

/** Squid's error pages: its own templates plus ocbox's (copied in from the build context). */
export const SQUID_ERROR_DIR = "/opt/ocbox/squid-errors";
/** Where the sidecar sees its staged dir (proxy config, decision log); the agent never mounts it. */
export const EGRESS_DIR = "/run/ocbox/egress";
/** The sidecar's scratch dir (tmpfs): squid's throwaway cert, pid file, the host's addresses. */
export const SIDECAR_TMP = "/tmp/ocbox-egress";
/**
 * The model gateway's TLS files, made at each start in SIDECAR_TMP (never in a volume or on the
 * host): squid's key+cert on the gateway ports, and the relay's client key+cert, the only one
 * those ports accept (squid.ts).
 */
export const GATEWAY_TLS = {
  serverPem: `${SIDECAR_TMP}/gateway.pem`,
  serverCert: `${SIDECAR_TMP}/gateway.crt`,
  relayPem: `${SIDECAR_TMP}/relay.pem`,
  relayCert: `${SIDECAR_TMP}/relay.crt`,
} as const;
/** The name both gateway certificates carry; the relay checks squid's. */
export const GATEWAY_TLS_NAME = "ocbox-gateway";

export interface DockerfileInput {
  base: string;
  packages: readonly string[];
  /** A host CA bundle is in the context as host-ca.crt and is used for apt over HTTPS. */
  hostCa: boolean;
}

const quoteList = (items: readonly string[]) => items.join(" ");

/**
 * No setuid or setgid file or dir in an image (SECURITY.md): `no-new-privileges` makes them inert,
 * but `hardening.noNewPrivileges: false` exists. Part of the apt step's RUN, so only the few
 * files it changes are copied up (a separate layer would duplicate them), and the build fails if
 * one is left.
 */
export const STRIP_SETID = "find / -xdev -perm /6000 ! -type l -exec chmod ug-s {} +";
export const ASSERT_NO_SETID =
  'left=$(find / -xdev -perm /6000 ! -type l); if [ -n "$left" ]; then echo "setuid/setgid left: $left" >&2; exit 1; fi';
const stripSetidLines = [`    ${STRIP_SETID}; \\`, `    ${ASSERT_NO_SETID}`];

/**
 * What agents never read stays out of both images: dpkg does not unpack docs (but each package's
 * copyright), man and info pages, translations or lintian overrides. The base's own are removed in
 * the same step (the base layer still holds them; only what this step adds is saved).
 */
const NO_DOCS = [
  "path-exclude /usr/share/doc/*",
  "path-include /usr/share/doc/*/copyright",
  "path-exclude /usr/share/man/*",
  "path-exclude /usr/share/info/*",
  "path-exclude /usr/share/locale/*",
  "path-exclude /usr/share/lintian/*",
];

function aptLayer(input: DockerfileInput): string[] {
  const ca = input.hostCa ? " -o Acquire::https::CAInfo=/tmp/ocbox-host-ca.crt" : "";
  return [
    ...(input.hostCa ? ["COPY host-ca.crt /tmp/ocbox-host-ca.crt"] : []),
    "RUN set -eux; \\",
    `    printf '%s\\n' ${NO_DOCS.map((l) => `'${l}'`).join(" ")} > /etc/dpkg/dpkg.cfg.d/ocbox-no-docs; \\`,
    `    apt-get${ca} update; \\`,
    `    apt-get${ca} install -y --no-install-recommends ${quoteList(input.packages)}; \\`,
    "    apt-get clean; rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/* /tmp/ocbox-host-ca.crt; \\",
    "    find /usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete; \\",
    "    rm -rf /usr/share/man/* /usr/share/info/* /usr/share/locale/* /usr/share/lintian; \\",
    ...stripSetidLines,
  ];
}

const userLayer = [
  `RUN groupadd -g ${AGENT_UID} agent \\`,
  ` && useradd -u ${AGENT_UID} -g ${AGENT_UID} -d ${AGENT_HOME} -M -s /bin/bash agent \\`,
  ` && mkdir -p ${WORKSPACE} ${SOCKET_DIR} ${RUN_DIR} ${AGENT_HOME} \\`,
  ` && chown ${AGENT_UID}:${AGENT_UID} ${WORKSPACE} ${AGENT_HOME}`,
];

export function sandboxDockerfile(input: DockerfileInput): string {
  return [
    `FROM ${input.base}`,
    "ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8",
    ...aptLayer(input),
    ...userLayer,
    // Modes come from the context's tar headers (context-entries.ts): a `RUN chmod` here would
    // store the binary and the config dir a second time. The config dir is the largest layer that
    // changes least after the binary, so it comes first.
    "COPY opencode-config /opt/ocbox/config/opencode",
    "COPY opencode /usr/local/bin/opencode",
    // C9: the agent's `ocbox-apt` and the apt helper's server (src/image/apt-scripts.ts). No
    // APT_PREFIX dir in the image: the engine would give a fresh volume mounted there the dir's
    // owner (root) when a container is created, even while the helper is writing to it.
    "COPY agent-entrypoint.sh /usr/local/bin/ocbox-agent-entrypoint",
    "COPY ocbox-apt ocbox-apt-helper /usr/local/bin/",
    // The binary runs here, before any sandbox does (what it writes to root's home goes); busybox's
    // tools for gVisor (GVISOR_BIN, first on PATH only under it).
    `RUN mkdir -p ${GVISOR_BIN} && for t in ${GVISOR_BIN_TOOLS.join(" ")}; do ln -s /bin/busybox ${GVISOR_BIN}/$t; done \\`,
    " && /usr/local/bin/opencode --version && rm -rf /root/.cache /root/.local /root/.config",
    // Offline by default (OPENCODE-NOTES, "Network at startup"). The plugin packages OpenCode would
    // fetch from npm at run time are already in the config dir above.
    [
      "ENV HOME=/home/agent",
      "    USER=agent",
      "    XDG_CONFIG_HOME=/opt/ocbox/config",
      "    OPENCODE_DISABLE_MODELS_FETCH=1",
      "    OPENCODE_DISABLE_AUTOUPDATE=1",
      "    OPENCODE_DISABLE_SHARE=1",
      "    OPENCODE_DISABLE_LSP_DOWNLOAD=1",
    ].join(" \\\n"),
    `USER ${AGENT_UID}:${AGENT_UID}`,
    `WORKDIR ${WORKSPACE}`,
    'ENTRYPOINT ["/usr/bin/tini", "-g", "--", "/usr/local/bin/ocbox-agent-entrypoint"]',
    "",
  ].join("\n");
}

export function egressDockerfile(input: DockerfileInput, errorPages: readonly string[] = []): string {
  return [
    `FROM ${input.base}`,
    "ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8",
    ...aptLayer(input),
    ...userLayer,
    ...(errorPages.length > 0 ? [`COPY ${errorPages.join(" ")} /tmp/ocbox-squid-errors/`] : []),
    // Squid's templates plus ocbox's pages in one dir; its other languages, docs and man pages go.
    `RUN mkdir -p ${SQUID_ERROR_DIR} \\`,
    ` && cp /usr/share/squid-langpack/templates/* ${SQUID_ERROR_DIR}/ \\`,
    ...(errorPages.length > 0
      ? [` && cp /tmp/ocbox-squid-errors/* ${SQUID_ERROR_DIR}/ && rm -rf /tmp/ocbox-squid-errors \\`]
      : []),
    ` && chmod -R a+rX,go-w ${SQUID_ERROR_DIR} \\`,
    " && find /usr/share/squid-langpack -mindepth 1 -maxdepth 1 ! -name templates -exec rm -rf {} + \\",
    " && rm -rf /usr/share/doc/* /usr/share/man/* /usr/share/locale/* /etc/squid/squid.conf",
    "COPY egress-entrypoint.sh /usr/local/bin/ocbox-egress-entrypoint",
    `USER ${AGENT_UID}:${AGENT_UID}`,
    'ENTRYPOINT ["/usr/bin/tini", "-g", "--", "/usr/local/bin/ocbox-egress-entrypoint"]',
    "",
  ].join("\n");
}
