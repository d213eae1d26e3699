/** Where the monitors write, in the sandbox's state dir, and how (one JSON document per line). */
import { appendFile, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";

export interface MonitorFiles {
  listeners: string;
  resources: string;
  summary: string;
}

/** `<state dir>/monitors/{listeners,resources,summary}.jsonl`. Pure. */
export function monitorFiles(stateDir: string): MonitorFiles {
  const dir = join(stateDir, "monitors");
  return {
    listeners: join(dir, "listeners.jsonl"),
    resources: join(dir, "resources.jsonl"),
    summary: join(dir, "summary.jsonl"),
  };
}

export async function appendJsonl(file: string, record: unknown): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await appendFile(file, `${JSON.stringify(record)}\n`, { mode: 0o600 });
}
