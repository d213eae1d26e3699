/**
 * A task image's `/etc/passwd` (issue 15 item 3: `[agent].user` and `[verifier].user` given by
 * name), parsed as hostile input: the image is the task set's, not ocbox's. The caller reads at
 * most PASSWD_MAX_BYTES through the archive API; here every line is checked field by field (seven
 * fields, a portable user name, numeric ids in range) and a line that fails is skipped, never
 * guessed at. Pure.
 */

/** What ocbox reads of an image's /etc/passwd at most (a real one is a few KiB). */
export const PASSWD_MAX_BYTES = 64 * 1024;
/** Lines looked at at most. */
export const PASSWD_MAX_LINES = 4096;

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

/** A user name as useradd and busybox's adduser accept it (plus Samba's trailing `$`). */
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/;
const ID = /^\d{1,10}$/;
/** 2^32 - 1 is (uid_t)-1, "no user"; anything above does not fit. */
const MAX_ID = 2 ** 32 - 2;

const idOf = (field: string | undefined): number | undefined => {
  if (field === undefined || !ID.test(field)) return undefined;
  const n = Number(field);
  return n <= MAX_ID ? n : undefined;
};

/** One line as an entry, or undefined when it is not a well-formed one. */
function entryOf(line: string): PasswdEntry | undefined {
  const f = line.split(":");
  if (f.length !== 7) return undefined;
  const [name, , uidField, gidField] = f;
  if (name === undefined || !NAME.test(name)) return undefined;
  const uid = idOf(uidField);
  const gid = idOf(gidField);
  return uid === undefined || gid === undefined ? undefined : { name, uid, gid };
}

/**
 * The well-formed entries of a passwd file's text, first entry of a name wins (as getpwnam
 * reads it). Text past PASSWD_MAX_BYTES or PASSWD_MAX_LINES is not looked at.
 */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  const seen = new Set<string>();
  const lines = text.slice(0, PASSWD_MAX_BYTES).split("\n").slice(0, PASSWD_MAX_LINES);
  for (const raw of lines) {
    const e = entryOf(raw.replace(/\r$/, ""));
    if (!e || seen.has(e.name)) continue;
    seen.add(e.name);
    out.push(e);
  }
  return out;
}
