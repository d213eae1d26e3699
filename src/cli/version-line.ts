import { OPENCODE_VERSION } from "../image/opencode-binary.js";
import { OCBOX_VERSION } from "../version.js";

/** What `ocbox --version` prints (entry.ts answers it alone; main.ts's commander for the rest). */
export const VERSION_LINE = `ocbox ${OCBOX_VERSION} (opencode ${OPENCODE_VERSION})`;
