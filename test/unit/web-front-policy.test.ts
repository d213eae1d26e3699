import { describe, expect, it } from "vitest";
import { browserHeaders, frontVerdict, upstreamHeaders } from "../../src/project/web-front-policy.js";

const ok = { method: "GET", host: "127.0.0.1:5000", origin: undefined, upgrade: false, loggedIn: true };

describe("web front policy (host-boundary item 7)", () => {
  it("passes the front's own page and refuses other hosts, foreign origins and foreign pages", () => {
    expect(frontVerdict(ok, 5000)).toEqual({ pass: true });
    expect(frontVerdict({ ...ok, host: "localhost:5000", origin: "http://localhost:5000" }, 5000).pass).toBe(
      true,
    );
    expect(frontVerdict({ ...ok, host: "evil.example:5000" }, 5000)).toMatchObject({ status: 421 });
    expect(frontVerdict({ ...ok, origin: "http://127.0.0.1:3000" }, 5000)).toMatchObject({ status: 403 });
    expect(frontVerdict({ ...ok, fetchSite: "same-site" }, 5000)).toMatchObject({ status: 403 });
    expect(frontVerdict({ ...ok, fetchSite: "none" }, 5000).pass).toBe(true);
    expect(frontVerdict({ ...ok, loggedIn: false }, 5000)).toMatchObject({ status: 401 });
  });

  it("a state-changing request or a websocket needs the front's Origin", () => {
    expect(frontVerdict({ ...ok, method: "POST" }, 5000)).toMatchObject({ status: 403 });
    expect(frontVerdict({ ...ok, upgrade: true }, 5000)).toMatchObject({ status: 403 });
    const own = { ...ok, origin: "http://127.0.0.1:5000" };
    expect(frontVerdict({ ...own, method: "POST" }, 5000).pass).toBe(true);
    expect(frontVerdict({ ...own, upgrade: true }, 5000).pass).toBe(true);
    expect(frontVerdict({ ...ok, method: "OPTIONS" }, 5000).pass).toBe(true);
  });

  it("no cookie goes up, no Set-Cookie or CORS grant comes back", () => {
    const up = upstreamHeaders(
      {
        cookie: "other=1; ocbox_x=2",
        origin: "http://127.0.0.1:5000",
        host: "127.0.0.1:5000",
        connection: "keep-alive",
      },
      new URL("http://127.0.0.1:4096"),
      "Basic abc",
      false,
    );
    expect(up).toEqual({
      origin: "http://127.0.0.1:4096",
      host: "127.0.0.1:4096",
      authorization: "Basic abc",
    });
    expect(
      browserHeaders({
        "set-cookie": ["a=1"],
        "www-authenticate": "Basic",
        "access-control-allow-origin": "*",
        "content-type": "text/html",
      }),
    ).toEqual({ "content-type": "text/html" });
  });
});
