// The `ocbox` command as one bundle (issue 16, CLI start): tsc's dist/ resolved into a few files
// in dist/bin/, so a cold `ocbox run` no longer resolves, reads and links some 300 modules one by
// one (0.6–0.8 s of its start on 2 cores). dist/bin sits at dist/cli's depth: `packageRoot()`
// (util/paths.ts) and the createRequire lookups resolve from it as from tsc's files. The library
// (`dist/index.js`) stays unbundled.
import { fileURLToPath } from "node:url";
import { defineConfig } from "rolldown";

export default defineConfig({
  input: { ocbox: "dist/cli/entry.js" },
  platform: "node",
  // Native or optional (ssh2's binding, cpu-features), found by path at run time (opencode-ai's
  // platform binary), or deferred until first use (runtime/dockerode-deferred.ts: gRPC).
  external: ["ssh2", "cpu-features", /^opencode-ai(\/|$)/, /^@grpc\//],
  resolve: {
    // jsonc-parser's `main` is a UMD build that requires its own files by relative path through
    // Node's CommonJS loader at run time (about 8 ms of every `ocbox up`); its ESM build bundles.
    alias: { "jsonc-parser": fileURLToPath(import.meta.resolve("jsonc-parser/lib/esm/main.js")) },
  },
  plugins: [
    {
      // The chunks are CommonJS (compile-cache.ts wraps the CommonJS loader's compile step to
      // give them V8's code cache, which Node 20 has no API for with ES modules) in an ESM package.
      name: "commonjs-dir",
      generateBundle() {
        this.emitFile({ type: "asset", fileName: "package.json", source: '{ "type": "commonjs" }\n' });
      },
    },
    {
      // ocbox reaches ssh:// engines through its own forwarding `ssh` (runtime/ssh-tunnel.ts) and
      // clears docker-modem's ssh protocol, so docker-modem's ssh2 client (and its load time) is
      // never wanted.
      name: "no-docker-modem-ssh",
      load(id) {
        if (/docker-modem[\\/]lib[\\/]ssh\.js$/.test(id))
          return "module.exports = function () { throw new Error('ocbox: docker-modem ssh is not used'); };";
        return null;
      },
    },
  ],
  output: {
    dir: "dist/bin",
    format: "cjs",
    entryFileNames: "[name].js",
    chunkFileNames: "[name]-[hash].js",
    cleanDir: true,
    // Without comments and with non-ASCII escaped the chunks are ASCII: V8 keeps their sources as
    // one-byte strings (half the heap of two-byte ones) and the CLI's start is about 25 ms less
    // CPU (`up --detach`, 0.245 s to 0.220 s, medians of 10 interleaved). No compression and no
    // renaming: the code stays as tsc wrote it, names and all.
    comments: false,
    minify: { compress: false, mangle: false, codegen: { removeWhitespace: false, asciiOnly: true } },
  },
});
