/** Debian version comparison (deb-version(7)): epoch, upstream, revision; `~` sorts before all. Pure. */

function order(c: string): number {
  if (c === "~") return -1;
  if (c === "") return 0;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

function comparePart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let diff = 0;
    while ((i < a.length && !/\d/.test(a[i] ?? "")) || (j < b.length && !/\d/.test(b[j] ?? ""))) {
      const ac = i < a.length && !/\d/.test(a[i] ?? "") ? (a[i] ?? "") : "";
      const bc = j < b.length && !/\d/.test(b[j] ?? "") ? (b[j] ?? "") : "";
      diff = order(ac) - order(bc);
      if (diff !== 0) return diff;
      if (ac) i++;
      if (bc) j++;
    }
    const an = /^\d*/.exec(a.slice(i))?.[0] ?? "";
    const bn = /^\d*/.exec(b.slice(j))?.[0] ?? "";
    i += an.length;
    j += bn.length;
    diff = Number(an || 0) - Number(bn || 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

function split(v: string): [number, string, string] {
  const colon = v.indexOf(":");
  const epoch = colon > 0 ? Number(v.slice(0, colon)) : 0;
  const rest = colon > 0 ? v.slice(colon + 1) : v;
  const dash = rest.lastIndexOf("-");
  return dash > 0 ? [epoch, rest.slice(0, dash), rest.slice(dash + 1)] : [epoch, rest, ""];
}

/** <0 when a is older than b, 0 when equal, >0 when newer. */
export function compareDebianVersions(a: string, b: string): number {
  const [ea, ua, ra] = split(a);
  const [eb, ub, rb] = split(b);
  if (ea !== eb) return ea - eb;
  return comparePart(ua, ub) || comparePart(ra, rb);
}
