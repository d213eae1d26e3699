/**
 * The `monitors` key of ocbox.yaml (FEATURES G1). Each monitor is off until switched on; they run
 * on the host, outside the agent's reach, and write JSONL into the sandbox's state dir.
 */
import { z } from "zod";

const intervalS = (fallback: number, what: string) =>
  z.number().int().min(1).max(86_400).default(fallback).describe(`Seconds between ${what}.`);

export const monitorsSchema = z
  .strictObject({
    listeners: z
      .strictObject({
        enabled: z.boolean().default(false).describe("Report TCP listeners inside the sandbox."),
        expected: z
          .array(z.number().int().min(1).max(65535))
          .default([])
          .describe(
            "Ports the agent may listen on (its dev servers). ocbox's own relays are always expected.",
          ),
        intervalS: intervalS(15, "scans"),
      })
      .prefault({})
      .describe("Unexpected TCP listeners, read from the sandbox's /proc on the host."),
    resources: z
      .strictObject({
        enabled: z.boolean().default(false).describe("Record CPU, memory, processes and open files."),
        intervalS: intervalS(30, "snapshots"),
      })
      .prefault({})
      .describe("Resource snapshots from the engine's stats and top APIs."),
    summary: z
      .strictObject({
        enabled: z
          .boolean()
          .default(false)
          .describe("Write a security summary: listeners, egress denials, resource peaks."),
        intervalS: intervalS(3600, "summaries"),
      })
      .prefault({})
      .describe("A periodic security summary."),
  })
  .prefault({})
  .describe(
    "Monitors that run on the host while `ocbox up` (foreground) or `ocbox dashboard` runs; results go to " +
      "monitors/*.jsonl in the state dir. The agent cannot stop them.",
  );

export type MonitorsConfig = z.output<typeof monitorsSchema>;
