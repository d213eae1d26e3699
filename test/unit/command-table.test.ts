import { readdirSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { COMMANDS, commandsFor } from "../../src/cli/command-table.js";

const argv = (...words: string[]) => ["node", "ocbox", ...words];
const names = (list: typeof COMMANDS) => list.flatMap((c) => c.names);

describe("the command table: a command line loads only the command it runs", () => {
  it("`--version` loads none, a command loads its own module, help or an unknown word loads all", () => {
    expect(commandsFor(argv("--version"))).toEqual([]);
    expect(commandsFor(argv("-V"))).toEqual([]);
    expect(names(commandsFor(argv("--json", "run", "-p", "x")))).toEqual(["run"]);
    expect(names(commandsFor(argv("-v", "eval", "run", "--tasks", "t")))).toEqual(["eval"]);
    expect(names(commandsFor(argv("status")))).toEqual(["ls", "status"]);
    expect(commandsFor(argv())).toBe(COMMANDS);
    expect(commandsFor(argv("--help"))).toBe(COMMANDS);
    expect(commandsFor(argv("-V", "--help"))).toBe(COMMANDS);
    expect(commandsFor(argv("help", "run"))).toBe(COMMANDS);
    expect(commandsFor(argv("nope"))).toBe(COMMANDS);
  });

  // These two load every command's code (the engine client, the SDKs): seconds on a busy machine.
  it(
    "each module registers exactly the top-level commands its entry names",
    { timeout: 60_000 },
    async () => {
      for (const entry of COMMANDS) {
        const program = new Command("ocbox");
        (await entry.load())(program, () => undefined);
        expect(program.commands.map((c) => c.name()).sort(), entry.names.join(",")).toEqual(
          [...entry.names].sort(),
        );
      }
    },
  );

  it(
    "every command any module in src/cli/commands registers is in the table",
    { timeout: 60_000 },
    async () => {
      const dir = join(import.meta.dirname, "..", "..", "src", "cli", "commands");
      const registered: string[] = [];
      for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts"))) {
        const mod = (await import(join(dir, file))) as Record<string, unknown>;
        for (const [key, fn] of Object.entries(mod)) {
          if (!key.startsWith("register") || typeof fn !== "function") continue;
          const program = new Command("ocbox");
          (fn as (p: Command, run: () => void) => void)(program, () => undefined);
          registered.push(...program.commands.map((c) => c.name()));
        }
      }
      expect(registered.sort()).toEqual(names(COMMANDS).sort());
    },
  );
});
