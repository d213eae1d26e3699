import { existsSync } from "node:fs";

/**
 * The host's CA bundle, when the host trusts extra CAs (a TLS-intercepting proxy, a company CA).
 * The image build passes it to apt for HTTPS mirrors. It holds certificates, never keys.
 */
export function hostCaBundle(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = [env.OCBOX_HOST_CA, env.NODE_EXTRA_CA_CERTS, env.SSL_CERT_FILE];
  return candidates.find((path): path is string => Boolean(path) && existsSync(path as string));
}
