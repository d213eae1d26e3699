import { createHash } from "node:crypto";

export interface ImageInputs {
  kind: "sandbox" | "egress";
  dockerfile: string;
  /** The base image's id, so a new base means a new tag. */
  baseId: string;
  /** File name in the build context → a digest of its content (or of what pins it). */
  files: Record<string, string>;
}

/** The image tag is a hash of everything that goes into the image. Pure. */
export function inputsHash(inputs: ImageInputs): string {
  const files = Object.keys(inputs.files)
    .sort()
    .map((k) => [k, inputs.files[k]]);
  return createHash("sha256")
    .update(
      JSON.stringify({ kind: inputs.kind, dockerfile: inputs.dockerfile, baseId: inputs.baseId, files }),
    )
    .digest("hex");
}

export function imageTag(inputs: ImageInputs): string {
  return `ocbox-${inputs.kind}:${inputsHash(inputs).slice(0, 16)}`;
}

export function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}
