/**
 * The pinned OpenCode web app's routes (read from the app bundled in opencode-ai 1.18.33): a
 * project is `/<dir>/session[/<id>]`, where `<dir>` is the directory's UTF-8 bytes in base64url
 * without padding (the app refuses any other spelling of the same directory). `/` is the project
 * picker. Pure.
 */

/** The app's spelling of a directory in a route. */
export function webDirSegment(directory: string): string {
  return Buffer.from(directory, "utf8").toString("base64url");
}

/** The route that opens `directory` ready for a new session (or session `id`). */
export function webSessionPath(directory: string, id?: string): string {
  return `/${webDirSegment(directory)}/session${id === undefined ? "" : `/${encodeURIComponent(id)}`}`;
}
