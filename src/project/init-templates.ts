/** The files `ocbox init` writes. Pure text. */

export function ocboxYamlTemplate(name: string): string {
  return `# ocbox project config. Safe to commit: it holds names, never secret values.
# Every key is described in ocbox's schema/ocbox.schema.json; point your editor's YAML schema at it.
name: ${name}

egress:
  # Hosts the agent may reach over HTTP(S). A leading dot allows the domain and its subdomains.
  allow: []
  #  - .github.com
  #  - registry.npmjs.org
  # TCP ports on this host the sandbox may reach at 127.0.0.1 (databases, dev servers).
  hostPorts: []
  # restricted: true   # no host through the proxy at all; only gateways and host ports
  # Model gateways: the real key stays on the host (keyEnv names the host variable); point the
  # provider's baseURL at http://127.0.0.1:9101/v1 and the agent only ever holds a placeholder.
  # gateways:
  #   - { upstream: https://api.openai.com, port: 9101, keyEnv: OPENAI_API_KEY }
  #   # a model server in a container on another Docker network (the agent never joins it):
  #   - { upstream: http://llama:8080, network: llm-net, port: 9102 }

ports: {}
  # server: 4096     # host port of the web UI; default: a free port at each start

env:
  # Host variables starting with OPENCODE_, OPENAI_, ANTHROPIC_, GOOGLE_, GEMINI_, AZURE_, … pass by default.
  passthroughPrefixes: []
  # CONTAINER_VAR: HOST_VAR, for renames and names no prefix covers.
  map: {}
  # Literal, non-secret values.
  set: {}

image:
  # Extra Debian packages for the sandbox image (rebuilt only when this list changes).
  packages: []

limits:
  memory: 4g
  cpus: 2

# Debian packages the agent may install at run time with "ocbox-apt install NAME" (no root, no rebuild).
# apt:
#   allow: [jq]

# Heavy dirs kept in named volumes, shadowing the workspace's own copy (fast installs, kept between runs).
# volumes: [node_modules]

# Every item is on by default; turning one off prints a WARNING at each start.
# hardening:
#   readOnlyRoot: true
#   noNewPrivileges: true
#   seccomp: ocbox       # ocbox | engine-default | unconfined
#   capAdd: []
#   icmp: false

# A local OpenAI-compatible server (llama.cpp, vLLM, Ollama): ocbox generates the provider for it
# and forwards a 127.0.0.1 port into the sandbox.
# model:
#   baseURL: http://127.0.0.1:8080/v1
#   models:
#     fast: { id: qwen3-8b, context: 32768 }
#     thinking: { id: qwen3-32b, context: 32768, output: 8192 }
#   small: fast

hook:
  # Sourced on this host before each start; its exports can be passed in with env.map.
  # A changed hook (or ocbox.yaml) is used only after you approve it.
  preStart: .ocbox/pre-start.sh
`;
}

export const OPENCODE_JSONC_TEMPLATE = `{
  "$schema": "https://opencode.ai/config.json",
  // The model as provider/model, e.g. "anthropic/claude-sonnet-4-5". Keys come from env passthrough
  // (ANTHROPIC_API_KEY, …) or from your auth.json, copied into each sandbox. Its API host must be
  // in egress.allow in ocbox.yaml (or behind a gateway): "ocbox up" warns with the line to add.
  // For a local server, set model: in ocbox.yaml instead.
  // "model": "anthropic/claude-sonnet-4-5",
  // The sandbox is the boundary: the agent may edit and run commands inside it without asking.
  "permission": {
    "edit": "allow",
    "bash": "allow",
    "webfetch": "allow"
  }
}
`;

export const HOOK_TEMPLATE = `#!/usr/bin/env bash
# ocbox pre-start hook: sourced by bash on this host before each \`ocbox up\`, in the project root.
# Exported variables are visible to the env rules in ocbox.yaml (pass them with env.map).
# Example: refresh AWS SSO credentials
#   aws sso login --profile my-profile
#   eval "$(aws configure export-credentials --profile my-profile --format env)"
# The agent can write this file: ocbox runs a changed version only after you approve it.
`;
