/**
 * Opening a project in the pinned OpenCode web app without its folder picker. The app keeps the
 * list of open projects in the browser (localStorage) and adds one only from its picker or from a
 * deep link: on start it reads `window.__OPENCODE__.deepLinks`, and for a local server (a URL on
 * 127.0.0.1 or localhost, as the login front is) `opencode://new-session?directory=D` opens D as a
 * project and lands on a new session there (read from the app bundled in opencode-ai 1.18.33).
 * The front serves a tiny same-origin script that sets that deep link once per browser tab, and
 * adds it to the app's HTML: the app's CSP allows `'self'` scripts, so no inline script and no
 * change to the CSP is needed. Pure.
 */

export const OPEN_SCRIPT_PATH = "/__ocbox/open-project.js";

/** The deep link that opens `directory` on a new session. */
export function newSessionDeepLink(directory: string): string {
  return `opencode://new-session?directory=${encodeURIComponent(directory)}`;
}

/**
 * The script: once per tab (sessionStorage), hand the app the deep link. A reload of the tab does
 * not pull the person back to a new session.
 */
export function openProjectScript(directory: string): string {
  const link = JSON.stringify(newSessionDeepLink(directory));
  const key = JSON.stringify(`ocbox-opened:${directory}`);
  return [
    "(function () {",
    "  try {",
    `    if (sessionStorage.getItem(${key})) return;`,
    `    sessionStorage.setItem(${key}, "1");`,
    "  } catch (e) {}",
    "  var oc = (window.__OPENCODE__ = window.__OPENCODE__ || {});",
    `  oc.deepLinks = (oc.deepLinks || []).concat([${link}]);`,
    "})();",
    "",
  ].join("\n");
}

/** The app's HTML with the script tag added to its head; unchanged when it has no `</head>`. */
export function withOpenScript(html: string): string {
  const at = html.search(/<\/head>/i);
  if (at < 0) return html;
  return `${html.slice(0, at)}<script src="${OPEN_SCRIPT_PATH}"></script>\n${html.slice(at)}`;
}
