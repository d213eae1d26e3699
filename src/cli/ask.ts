/** Yes/no questions for a person at a terminal; undefined when stdin or stderr is not a TTY. */
import { createInterface } from "node:readline/promises";

export function terminalAsk(defaultYes: boolean): ((question: string) => Promise<boolean>) | undefined {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  return async (question) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      const answer = (await rl.question(`${question} ${defaultYes ? "[Y/n]" : "[y/N]"} `))
        .trim()
        .toLowerCase();
      return answer === "" ? defaultYes : answer === "y" || answer === "yes";
    } finally {
      rl.close();
    }
  };
}
