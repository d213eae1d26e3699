/**
 * Text from a sandbox or a server (container logs, the agent's answer, agent-log lines, model
 * ids, error messages) made safe to print on a terminal. Pure.
 *
 * A terminal obeys control characters in what it prints: `ESC ] 52` writes the clipboard,
 * `ESC [ 2J` clears the screen, `CR` and cursor moves overwrite what ocbox printed, OSC 8 hides a
 * link behind other text, and C1 codes (U+0080..U+009F) are the same controls in one character.
 * Every such character is shown as a visible escape (`\x1b`) instead: C0 except newline and tab,
 * DEL, C1, and the Unicode bidirectional overrides that reorder what a reader sees.
 */

const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const visible = (c: string): string => {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16)}`;
};

/** Replace every control character except `\n` and `\t` with a visible escape. Pure. */
export function sanitizeTerminal(text: string): string {
  return text.replace(UNSAFE, visible);
}

/**
 * The same, but the exact SGR sequences in `keep` (ocbox's own colours) pass through. Any other
 * ESC, including one that merely looks like a colour, is escaped. Pure.
 */
export function sanitizeTerminalKeeping(text: string, keep: readonly string[]): string {
  if (keep.length === 0 || !text.includes("\u001b")) return sanitizeTerminal(text);
  let out = "";
  let i = 0;
  while (i < text.length) {
    const esc = text.indexOf("\u001b", i);
    if (esc < 0) {
      out += sanitizeTerminal(text.slice(i));
      break;
    }
    out += sanitizeTerminal(text.slice(i, esc));
    const kept = keep.find((k) => text.startsWith(k, esc));
    out += kept ?? visible("\u001b");
    i = esc + (kept?.length ?? 1);
  }
  return out;
}
