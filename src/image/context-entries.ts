/**
 * What the image build context's tar says about each entry, and which staged files it leaves out.
 *
 * The classic builder keeps a `COPY`'d file's mode from the context's tar header, so modes are set
 * here rather than by a later `RUN chmod` (which would store the 185 MB binary a second time, in
 * its own layer). Every entry is root's; a directory or an executable is 0755, anything else 0644:
 * no setuid, setgid, sticky or group/other-writable bit reaches the image.
 *
 * The staged OpenCode config dir is npm's install of the plugin package; what OpenCode never loads
 * at run time stays out of the image: type declarations, source maps, and a package's `src/` tree
 * when its manifest names nothing under `src/` (its code is in `dist/`). Pure.
 */
import type { Headers } from "tar-fs";

/** Names these rules in the image inputs, so changing them makes a new image tag. */
export const CONTEXT_RULES = "modes 0755/0644 root; no .d.ts, .map, unreferenced src/ (1)";

export function normaliseHeader(header: Headers): Headers {
  const executable = header.type === "directory" || ((header.mode ?? 0) & 0o111) !== 0;
  return { ...header, mode: executable ? 0o755 : 0o644, uid: 0, gid: 0 };
}

const NOT_LOADED = /\.(d\.ts|d\.mts|d\.cts|map|tsbuildinfo)$/;

/** A package manifest's entry points, as text to search for `src/`. */
export type ManifestText = string;

/**
 * Whether `rel` (a path inside the staged config dir, `/`-separated) stays out of the image.
 * `manifests` maps a package dir (`node_modules/effect`, `node_modules/@scope/name`) to its
 * package.json's entry fields as text.
 */
export function leftOutOfImage(rel: string, manifests: ReadonlyMap<string, ManifestText>): boolean {
  if (NOT_LOADED.test(rel)) return true;
  const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\/src(\/|$)/.exec(rel);
  if (!m?.[1]) return false;
  const manifest = manifests.get(m[1]);
  return manifest !== undefined && !/(^|[^a-z])src\//i.test(manifest);
}

/** The fields of a package.json that name files a runtime loads. */
export function manifestEntryText(pkg: Record<string, unknown>): ManifestText {
  return JSON.stringify([pkg.main, pkg.module, pkg.exports, pkg.browser, pkg.bin, pkg.imports]);
}
