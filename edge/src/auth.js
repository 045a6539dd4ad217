// API keys: the caller sends the key (`Authorization: Bearer <key>` or `X-API-Key`); the worker
// holds only SHA-256 digests of the valid keys (secret API_KEY_HASHES) and compares the digest
// of what it got against every one of them in constant time.
import { ApiError } from "./http.js";

const MAX_KEY_LENGTH = 256;

/** True when the two byte arrays are equal; time depends only on their length. */
export function timingSafeEqual(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

function presentedKey(request) {
  const header = request.headers.get("authorization");
  if (header !== null) {
    const match = /^Bearer[ ]+(\S+)$/i.exec(header.trim());
    return match === null ? "" : match[1];
  }
  return request.headers.get("x-api-key")?.trim() ?? null;
}

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * @returns {Promise<string>} the caller's key id (first 12 hex digits of its digest, safe to log
 *   and to rate-limit by), or "anonymous" when keys are not required and none was sent.
 */
export async function authenticate(request, config) {
  const key = presentedKey(request);
  if (key === null && !config.requireKey) return "anonymous";
  const unauthorized = new ApiError(401, "unauthorized", "a valid API key is required", {
    headers: { "www-authenticate": 'Bearer realm="gea-edge"' },
  });
  if (!key || key.length > MAX_KEY_LENGTH) throw unauthorized;
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)),
  );
  let match = false;
  for (const expected of config.keyHashes) {
    // No early exit: every configured digest is compared.
    match = timingSafeEqual(digest, expected) || match;
  }
  if (!match) throw unauthorized;
  return hex(digest.subarray(0, 6));
}
