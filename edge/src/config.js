// The worker's settings, read from its bindings (config.capnp locally, wrangler.toml [vars] and
// secrets on Cloudflare) once per `env` object and checked: a bad setting fails closed.

const DEFAULTS = {
  RATE_LIMIT_PER_MINUTE: 600,
  RATE_LIMIT_BURST: 60,
  MAX_BODY_BYTES: 262144,
};

const cache = new WeakMap();

function positiveInt(env, name) {
  const raw = env[name];
  if (raw === undefined || raw === "") return DEFAULTS[name];
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new Error(`setting ${name} must be a positive integer`);
  }
  return value;
}

function list(raw) {
  return String(raw ?? "")
    .split(/[\s,]+/)
    .filter((item) => item.length > 0);
}

/** SHA-256 hex digests -> 32-byte arrays; anything else is a configuration error. */
function keyHashes(raw) {
  return list(raw).map((hex) => {
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
      throw new Error("API_KEY_HASHES must hold SHA-256 hex digests (64 hex digits each)");
    }
    return Uint8Array.from(hex.match(/../g), (byte) => parseInt(byte, 16));
  });
}

/**
 * @param {Record<string, unknown>} env the worker's bindings
 * @returns {{requireKey: boolean, keyHashes: Uint8Array[], origins: Set<string>,
 *   ratePerMinute: number, burst: number, maxBodyBytes: number}}
 */
export function settings(env) {
  let s = cache.get(env);
  if (s === undefined) {
    const origins = new Set(list(env.ALLOWED_ORIGINS));
    if (origins.has("*")) throw new Error("ALLOWED_ORIGINS must list origins, not *");
    s = {
      requireKey: String(env.REQUIRE_API_KEY ?? "true").toLowerCase() !== "false",
      keyHashes: keyHashes(env.API_KEY_HASHES),
      origins,
      ratePerMinute: positiveInt(env, "RATE_LIMIT_PER_MINUTE"),
      burst: positiveInt(env, "RATE_LIMIT_BURST"),
      maxBodyBytes: positiveInt(env, "MAX_BODY_BYTES"),
    };
    cache.set(env, s);
  }
  return s;
}
