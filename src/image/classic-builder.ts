/**
 * What Docker 20.10's API builder (the classic one) cannot build: BuildKit-only Dockerfile
 * syntax. Found before the build starts, so the error names the line instead of a failed step.
 * Pure.
 */

export interface BuildkitUse {
  line: number;
  what: string;
}

const RULES: Array<{ re: RegExp; what: string }> = [
  { re: /^\s*RUN\s+(--\S+\s+)*--mount[=\s]/i, what: "RUN --mount (cache, secret and bind mounts)" },
  { re: /^\s*RUN\s+(--\S+\s+)*--network[=\s]/i, what: "RUN --network" },
  { re: /^\s*RUN\s+(--\S+\s+)*--security[=\s]/i, what: "RUN --security" },
  { re: /^\s*(COPY|ADD)\s+(--\S+\s+)*--link\b/i, what: "COPY --link" },
  { re: /^\s*(COPY|ADD)\s+(--\S+\s+)*--chmod[=\s]/i, what: "COPY --chmod" },
  { re: /^\s*(COPY|ADD)\s+(--\S+\s+)*--parents\b/i, what: "COPY --parents" },
  { re: /^\s*(COPY|ADD)\s+(--\S+\s+)*--exclude[=\s]/i, what: "COPY --exclude" },
  { re: /^\s*(RUN|COPY)\s+(--\S+\s+)*[^#]*<<-?\s*["']?[A-Za-z_]\w*["']?/i, what: "a heredoc (<<EOF)" },
];

/** The first BuildKit-only construct in the Dockerfile, with its line, or undefined. */
export function buildkitOnly(dockerfile: string): BuildkitUse | undefined {
  const lines = dockerfile.split(/\r?\n/);
  let continued = false;
  for (const [i, line] of lines.entries()) {
    const isContinuation = continued;
    continued = /\\\s*$/.test(line);
    if (isContinuation || /^\s*#/.test(line)) continue;
    const rule = RULES.find((r) => r.re.test(line));
    if (rule) return { line: i + 1, what: rule.what };
  }
  return undefined;
}
