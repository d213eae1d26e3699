// Shared helpers for the benchmark harness. Plain ESM over the built package (dist/).
import { spawnSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export const summary = (xs) => ({
  n: xs.length,
  median: median(xs),
  min: Math.min(...xs),
  max: Math.max(...xs),
  samples: xs,
});

export const machine = () => ({
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  docker: spawnSync("docker", ["version", "--format", "{{.Server.Version}}"], {
    encoding: "utf8",
  }).stdout?.trim(),
});

export async function writeResults(name, data) {
  const dir = join(import.meta.dirname, "results");
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().slice(0, 10)}-${name}.json`);
  await writeFile(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}

export const fmt = (s) =>
  `median ${s.median.toFixed(2)} s (min ${s.min.toFixed(2)}, max ${s.max.toFixed(2)}, n=${s.n})`;

/** Pair by pair: `xs[i] / base[i]` for every measured pair, summarised. */
export const ratios = (xs, base) => {
  const r = xs.map((x, i) => (x === null || !base[i] ? null : x / base[i])).filter((x) => x !== null);
  return r.length ? summary(r) : null;
};
