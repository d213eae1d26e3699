/**
 * The dashboard page: one static HTML document with inline CSS and script, no external assets.
 * It listens to `/events` (server-sent events, one DashboardSnapshot per message) and redraws;
 * every value is written with textContent, never as HTML.
 */
export const DASHBOARD_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ocbox dashboard</title>
<meta name="referrer" content="no-referrer">
<style>
body{font:14px system-ui,sans-serif;margin:1.5rem;color:#222;background:#fafafa}
h1{font-size:1.3rem;margin:0 0 .3rem}
#status{color:#666;margin-bottom:1rem}
table.sandboxes{border-collapse:collapse;width:100%;background:#fff}
.sandboxes>tbody>tr>td,.sandboxes>thead>tr>th{border-bottom:1px solid #ddd;padding:.5rem;vertical-align:top;text-align:left}
.state-running{color:#0a7d28;font-weight:600}.state-unhealthy{color:#b00020;font-weight:600}
.deny{color:#b00020;font-weight:600}.unexpected{color:#b00020;font-weight:600}
svg{background:#f4f6f8;border:1px solid #e0e0e0}
small{color:#666}
ul{margin:0;padding-left:1rem}
</style></head>
<body>
<h1>ocbox dashboard</h1>
<div id="status">connecting…</div>
<table class="sandboxes"><thead><tr>
<th>sandbox</th><th>state</th><th>uptime</th><th>CPU %</th><th>memory MiB</th><th>egress</th><th>listeners</th><th>last agent activity</th>
</tr></thead><tbody id="rows"><tr><td colspan="8">no sandbox is running</td></tr></tbody></table>
<script>
"use strict";
const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = String(text); if (cls) e.className = cls; return e; };
const uptime = (s) => s >= 3600 ? Math.floor(s/3600)+"h "+Math.floor(s%3600/60)+"m" : s >= 60 ? Math.floor(s/60)+"m "+(s%60)+"s" : s+"s";
function chart(samples, key, max, label) {
  const ns = "http://www.w3.org/2000/svg", w = 220, h = 60;
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("width", w); svg.setAttribute("height", h); svg.setAttribute("class", "chart-" + key);
  const top = Math.max(max || 0, 1, ...samples.map((s) => s[key]));
  const pts = samples.map((s, i) => (samples.length < 2 ? w : i * w / (samples.length - 1)).toFixed(1) + "," + (h - 2 - (s[key] / top) * (h - 4)).toFixed(1));
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", pts.join(" ")); line.setAttribute("fill", "none"); line.setAttribute("stroke", key === "cpu" ? "#1565c0" : "#6a1b9a"); line.setAttribute("stroke-width", "1.5");
  svg.appendChild(line);
  const wrap = el("div"); wrap.appendChild(svg);
  const last = samples[samples.length - 1];
  wrap.appendChild(el("small", last ? last[key] + " " + label + " now, peak " + Math.max(...samples.map((s) => s[key])) : "no samples yet"));
  return wrap;
}
function list(items, render) { const ul = el("ul"); for (const i of items) ul.appendChild(render(i)); return ul; }
function render(snap) {
  document.getElementById("status").textContent = snap.sandboxes.length + " running, updated " + new Date(snap.time).toLocaleTimeString();
  const rows = document.getElementById("rows"); rows.replaceChildren();
  if (!snap.sandboxes.length) { const tr = el("tr"); const td = el("td", "no sandbox is running"); td.colSpan = 8; tr.appendChild(td); rows.appendChild(tr); return; }
  for (const s of snap.sandboxes) {
    const tr = el("tr"); tr.dataset.sandbox = s.sandboxId;
    const id = el("td"); id.appendChild(el("strong", s.sandboxId)); id.appendChild(el("br")); id.appendChild(el("small", s.project)); id.appendChild(el("br")); id.appendChild(el("small", s.url + " · " + s.lifetime));
    tr.appendChild(id);
    tr.appendChild(el("td", s.state, "state-" + s.state));
    tr.appendChild(el("td", uptime(s.uptimeS)));
    const cpu = el("td"); cpu.appendChild(chart(s.samples, "cpu", 100, "%")); tr.appendChild(cpu);
    const mem = el("td"); mem.appendChild(chart(s.samples, "memMb", 0, "MiB" + (s.memLimitMb ? " of " + s.memLimitMb : ""))); tr.appendChild(mem);
    const eg = el("td", undefined, "egress");
    eg.appendChild(s.egress.length ? list(s.egress, (h) => { const li = el("li"); li.appendChild(el("span", h.host + " ")); if (h.allowed) li.appendChild(el("span", h.allowed + " allowed ", "allow")); if (h.denied) li.appendChild(el("span", h.denied + " denied", "deny")); return li; }) : el("small", "no requests"));
    tr.appendChild(eg);
    const ls = el("td", undefined, "listeners");
    if (s.listeners) ls.appendChild(list(s.listeners, (l) => el("li", l.address + ":" + l.port + (l.process ? " (" + l.process + ")" : "") + (l.expected ? "" : " unexpected"), l.expected ? "" : "unexpected")));
    else ls.appendChild(el("small", "unavailable: " + (s.listenersError || "?")));
    tr.appendChild(ls);
    tr.appendChild(el("td", s.lastActivity ? new Date(s.lastActivity).toLocaleTimeString() + " (" + s.sessions + " sessions)" : "unknown"));
    rows.appendChild(tr);
  }
}
const source = new EventSource("/events");
source.onmessage = (e) => render(JSON.parse(e.data));
source.onerror = () => { document.getElementById("status").textContent = "disconnected; retrying…"; };
</script>
</body></html>
`;
