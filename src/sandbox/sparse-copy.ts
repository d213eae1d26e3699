/**
 * Copy the first `size` bytes of one open file into another, sparse: a chunk of zeros is not
 * written, it stays a hole, and the target is truncated to `size` at the end. Only descriptors are
 * used; neither file is opened by name here.
 */
import type { FileHandle } from "node:fs/promises";

const CHUNK = 128 * 1024;
const ZEROS = Buffer.alloc(CHUNK);

/** Returns the bytes written as data (holes excluded). */
export async function copySparse(from: FileHandle, to: FileHandle, size: number): Promise<number> {
  const buf = Buffer.allocUnsafe(CHUNK);
  let pos = 0;
  let written = 0;
  let dataEnd = 0;
  while (pos < size) {
    const want = Math.min(CHUNK, size - pos);
    const { bytesRead } = await from.read(buf, 0, want, pos);
    if (bytesRead === 0) break;
    const chunk = buf.subarray(0, bytesRead);
    if (!chunk.equals(ZEROS.subarray(0, bytesRead))) {
      let off = 0;
      while (off < bytesRead) {
        const { bytesWritten } = await to.write(chunk, off, bytesRead - off, pos + off);
        off += bytesWritten;
      }
      written += bytesRead;
      dataEnd = pos + bytesRead;
    }
    pos += bytesRead;
  }
  // A trailing run of zeros becomes a hole: the size is what was read, not what the source grew to.
  if (dataEnd < pos) await to.truncate(pos);
  return written;
}
