/**
 * A judge prompt's framing: the prompt with every fenced evidence block (judge-evidence.ts)
 * replaced by `<fenced>`. Whatever a session holds, the framing of two judge prompts for the
 * same task must be the same.
 */
export function judgeFraming(prompt: string): string {
  const lines = prompt.split("\n");
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})text /.exec(lines[i] ?? "");
    if (!open) {
      out.push(lines[i] ?? "");
      continue;
    }
    const close = open[1];
    while (i + 1 < lines.length && lines[i + 1] !== close) i++;
    i++;
    out.push("<fenced>");
  }
  return out.join("\n");
}
