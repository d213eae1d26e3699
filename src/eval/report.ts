/**
 * The HTML report (FEATURES F7): one self-contained page, no script or style from elsewhere. A
 * table of units (verifier reward, judge score, outcome, failure class, check, time, tokens), a
 * bar chart of scores, and per unit its diff, the verifier's outcome, the judge's reasons and
 * evidence and the agent's tool-call timeline. With a second run, the table compares the two
 * side by side per task: rewards beside judge scores. Pure: data in, HTML out.
 */
import type { TimelineEntry } from "./session-export.js";
import type { Summary } from "./summary.js";
import type { VerifierOutcome } from "./unit-record.js";
import type { Grade } from "./verdict.js";

export interface ReportUnit {
  key: string;
  task: string;
  repeat: number;
  outcome: string;
  failureReason: string | null;
  infra: boolean;
  checkExit: number | null;
  seconds: number;
  tokens: number;
  cost: number;
  grade: Grade | null;
  judgeError: string | null;
  /** Harbor tasks: the verifier's outcome (reward null: none was left, see `problem`). */
  verifier?: VerifierOutcome | null;
  diff: string;
  timeline: TimelineEntry[];
  /** Fields of the unit's records that had the wrong type and were not used (result-check.ts). */
  invalid: string[];
}

export interface ReportRun {
  title: string;
  model: string;
  /** Bind mount or copy, and why (the manifest's; absent in a run made before it was recorded). */
  workspace?: { mode: string; why: string };
  summary: Summary;
  units: ReportUnit[];
}

const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
/** A number as text, or "–": a value that is not a finite number never reaches the page. */
const num = (x: unknown, digits?: number): string =>
  typeof x === "number" && Number.isFinite(x) ? (digits === undefined ? String(x) : x.toFixed(digits)) : "–";
const pct = (x: number | null | undefined) => (num(x) === "–" ? "–" : `${num((x ?? 0) * 100, 0)}%`);
const anchor = (key: string) => `u-${key.replace(/[^A-Za-z0-9_-]/g, "-")}`;

const CSS = `body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse;margin:1rem 0}
th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}th{background:#f3f3f3}
.ok{color:#17702a}.bad{color:#b3261e}.infra{color:#8a5a00}pre{background:#f7f7f7;padding:.6rem;overflow:auto;max-height:30rem}
.bar{background:#4a7bd0;height:1rem;display:inline-block}.chart td{border:none;padding:.1rem .4rem}
details{margin:.6rem 0;border:1px solid #ddd;padding:.4rem .8rem}summary{cursor:pointer;font-weight:600}
.add{color:#17702a}.del{color:#b3261e}`;

function outcomeCell(u: ReportUnit): string {
  const cls = u.infra ? "infra" : u.outcome === "COMPLETE" ? "ok" : "bad";
  return `<span class="${cls}">${esc(u.outcome)}</span>`;
}

function diffHtml(diff: string): string {
  if (!diff.trim()) return "<p>No changes.</p>";
  const lines = diff.slice(0, 200_000).split("\n");
  return `<pre class="diff">${lines
    .map((l) => {
      const e = esc(l);
      if (l.startsWith("+") && !l.startsWith("+++")) return `<span class="add">${e}</span>`;
      if (l.startsWith("-") && !l.startsWith("---")) return `<span class="del">${e}</span>`;
      return e;
    })
    .join("\n")}</pre>`;
}

function unitDetail(u: ReportUnit): string {
  const verdicts = u.grade
    ? `<table class="verdicts"><tr><th>requirement</th><th>weight</th><th>score</th><th>passed</th><th>reason</th><th>evidence</th></tr>${u.grade.requirements
        .map(
          (r) =>
            `<tr><td>${esc(r.id)}</td><td>${num(r.weight)}</td><td>${num(r.score, 2)}</td><td class="${r.passed ? "ok" : "bad"}">${r.passed ? "yes" : "no"}</td><td>${esc(r.reason)}</td><td>${r.evidence.map((e) => `<code>${esc(e)}</code>`).join("<br>")}</td></tr>`,
        )
        .join("")}</table>`
    : `<p>${u.judgeError ? `Judge failed: ${esc(u.judgeError)}` : "Not judged yet."}</p>`;
  const timeline = u.timeline.length
    ? `<table class="timeline"><tr><th>at (s)</th><th>tool</th><th>status</th><th>title</th><th>took (s)</th></tr>${u.timeline
        .map(
          (t) =>
            `<tr><td>${num(t.at, 1)}</td><td>${esc(t.tool)}</td><td>${esc(t.status)}</td><td>${esc(t.title)}</td><td>${num(t.seconds, 2)}</td></tr>`,
        )
        .join("")}</table>`
    : "<p>No tool calls.</p>";
  const invalid = u.invalid.length
    ? `<h4>Invalid data</h4><ul class="invalid">${u.invalid.map((i) => `<li>${esc(i)}</li>`).join("")}</ul>`
    : "";
  return `<details id="${anchor(u.key)}" class="unit"><summary>${esc(u.key)} — ${esc(u.outcome)}${u.failureReason ? ` (${esc(u.failureReason)})` : ""}, ${u.verifier ? `reward ${num(u.verifier.reward)}, ` : ""}score ${pct(u.grade?.score)}</summary>
${invalid}${u.verifier ? verifierHtml(u.verifier) : ""}<h4>Judge</h4>${verdicts}<h4>Tool calls</h4>${timeline}<h4>Diff</h4>${diffHtml(u.diff)}</details>`;
}

function verifierHtml(v: VerifierOutcome): string {
  const named = Object.entries(v.rewards)
    .map(([k, x]) => `<code>${esc(k)}</code> ${num(x)}`)
    .join(", ");
  return `<h4>Verifier</h4><p class="verifier">reward <strong>${num(v.reward)}</strong>${named ? ` (${named})` : ""}, exit ${num(v.exitCode)}, ${num(v.seconds, 1)} s${v.problem ? `; <span class="bad">${esc(v.problem)}</span>` : ""}</p>${v.outputTail ? `<pre>${esc(v.outputTail)}</pre>` : ""}`;
}

/** A task's rewards in a cell: mean ± spread (n), pass@1; "–" for a task with no verifier. */
function rewardCell(t: Summary["tasks"][number] | undefined): string {
  const r = t?.rewards?.reward;
  if (!r) return "–";
  const pass = t.rewards?.passAtK["pass@1"];
  return `${num(r.mean, 2)}${r.n > 1 ? ` ± ${num(r.spread, 2)}` : ""} (n=${num(r.n)}), pass@1 ${pct(pass)}`;
}

function chart(run: ReportRun): string {
  const rows = run.summary.tasks
    .map(
      (t) =>
        `<tr><td>${esc(t.id)}</td><td><span class="bar" style="width:${num((t.score?.mean ?? 0) * 300, 0)}px"></span> ${pct(t.score?.mean)}${t.score && t.score.n > 1 ? ` ± ${pct(t.score.spread)}` : ""}</td></tr>`,
    )
    .join("");
  return `<table class="chart" aria-label="scores">${rows}</table>`;
}

function unitTable(run: ReportRun): string {
  const rows = run.units
    .map(
      (u) =>
        `<tr class="unit-row" data-unit="${esc(u.key)}"><td><a href="#${anchor(u.key)}">${esc(u.key)}</a></td><td class="reward">${u.verifier ? num(u.verifier.reward) : "–"}</td><td>${pct(u.grade?.score)}</td><td>${outcomeCell(u)}</td><td>${esc(u.failureReason ?? "")}${u.infra ? " (infra)" : ""}${u.invalid.length ? ` <span class="bad">(invalid data: ${u.invalid.length} field(s))</span>` : ""}</td><td>${num(u.checkExit)}</td><td>${num(u.seconds, 1)}</td><td>${num(u.tokens)}</td><td>${num(u.cost, 4)}</td></tr>`,
    )
    .join("");
  return `<table class="units"><tr><th>task</th><th>reward</th><th>judge score</th><th>outcome</th><th>failure</th><th>check exit</th><th>time (s)</th><th>tokens</th><th>cost ($)</th></tr>${rows}</table>`;
}

function compareTable(a: ReportRun, b: ReportRun): string {
  const ids = [...new Set([...a.summary.tasks.map((t) => t.id), ...b.summary.tasks.map((t) => t.id)])].sort();
  const find = (r: ReportRun, id: string) => r.summary.tasks.find((t) => t.id === id);
  const delta = (d: number | null, scale: number, digits: number) =>
    d === null ? "–" : `${d >= 0 ? "+" : ""}${num(d * scale, digits)}`;
  const rows = ids
    .map((id) => {
      const x = find(a, id);
      const y = find(b, id);
      const d = x?.score && y?.score ? y.score.mean - x.score.mean : null;
      const rx = x?.rewards?.reward;
      const ry = y?.rewards?.reward;
      const dr = rx && ry ? ry.mean - rx.mean : null;
      return `<tr class="compare-row"><td>${esc(id)}</td><td class="reward">${rewardCell(x)}</td><td class="reward">${rewardCell(y)}</td><td>${delta(dr, 1, 2)}</td><td>${pct(x?.score?.mean)}</td><td>${pct(y?.score?.mean)}</td><td>${delta(d, 100, 0)}</td></tr>`;
    })
    .join("");
  const ta = esc(a.title);
  const tb = esc(b.title);
  return `<h2>Comparison</h2><table class="compare"><tr><th>task</th><th>reward ${ta}</th><th>reward ${tb}</th><th>Δ reward</th><th>judge ${ta}</th><th>judge ${tb}</th><th>Δ points</th></tr>${rows}</table>`;
}

/** The run's reward line (Harbor tasks): mean reward, pass@k, public network. */
function rewardLine(s: Summary): string {
  const r = s.totals.rewards;
  if (!r?.reward) return "";
  const ks = Object.entries(r.passAtK)
    .map(([k, v]) => `${esc(k)} ${pct(v)}`)
    .join(", ");
  const pub = s.totals.publicNetwork?.length
    ? ` <span class="infra">Public network: ${s.totals.publicNetwork.map(esc).join("; ")}.</span>`
    : "";
  return `<p>Verifier: mean reward <strong id="mean-reward">${num(r.reward.mean, 3)}</strong> ± ${num(r.reward.spread, 3)} over ${num(r.reward.n)} run(s) of ${num(r.tasks)} task(s)${r.noReward ? `, ${num(r.noReward)} without a reward (counted 0)` : ""}; ${ks}.${pub}</p>`;
}

export function renderReport(run: ReportRun, compare?: ReportRun): string {
  const t = run.summary.totals;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>ocbox eval — ${esc(run.title)}</title><style>${CSS}</style></head><body>
<h1>ocbox eval — ${esc(run.title)}</h1>
<p>Model <code>${esc(run.model)}</code>${run.summary.judgeModel ? `, judge <code>${esc(run.summary.judgeModel)}</code>` : ""}${run.workspace ? `, workspace <span id="workspace-mode">${esc(run.workspace.why)}</span>` : ""}. ${num(t.units)} run(s) of ${num(t.tasks)} task(s): ${num(t.completed)} complete, ${num(t.agentFailed)} agent failure(s), <span class="infra">${num(t.infraFailed)} infrastructure failure(s)</span>, ${num(t.invalidTasks)} invalid task(s) skipped.
Mean score <strong id="mean-score">${pct(t.score?.mean)}</strong>, pass rate ${pct(t.passRate?.mean)}; ${num(t.tokens.input + t.tokens.output)} tokens, $${num(t.cost, 4)}.</p>
${rewardLine(run.summary)}
<h2>Scores</h2>${chart(run)}
${compare ? compareTable(run, compare) : ""}
<h2>Tasks</h2>${unitTable(run)}
${run.summary.invalid.length ? `<h2>Invalid tasks</h2><ul>${run.summary.invalid.map((i) => `<li><code>${esc(i.path)}</code> ${esc(i.field)}: ${esc(i.problem)}</li>`).join("")}</ul>` : ""}
<h2>Details</h2>${run.units.map(unitDetail).join("\n")}
</body></html>
`;
}
