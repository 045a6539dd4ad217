// CORS against the configured allowlist: exact origins only (no `*`), preflight answered here.
import { ApiError } from "./http.js";

const ALLOW_HEADERS = "authorization, content-type, x-api-key";
const ALLOW_METHODS = "GET, POST, OPTIONS";

/**
 * Throws 403 for a request from an origin not on the list. Requests without `Origin` (other
 * servers, curl) are not cross-origin browser requests and pass.
 * @returns {Record<string, string>} headers to add to the response
 */
export function corsHeaders(request, origins) {
  const origin = request.headers.get("origin");
  if (origin === null) return {};
  if (!origins.has(origin)) {
    throw new ApiError(403, "origin_not_allowed", "this origin is not allowed to call the API");
  }
  return {
    "access-control-allow-origin": origin,
    "access-control-expose-headers": "retry-after, x-request-id",
    vary: "Origin",
  };
}

/** The answer to a preflight from an allowed origin. */
export function preflight(headers) {
  return new Response(null, {
    status: 204,
    headers: {
      ...headers,
      "access-control-allow-methods": ALLOW_METHODS,
      "access-control-allow-headers": ALLOW_HEADERS,
      "access-control-max-age": "600",
    },
  });
}
