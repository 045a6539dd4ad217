// Routes: path -> method -> handler. `auth: false` marks the one public route (health).
import { ApiError } from "./http.js";
import * as api from "./handlers.js";

const ROUTES = {
  "/v1/health": { GET: { handler: api.health, auth: false, body: false } },
  "/v1/tokenize": { POST: { handler: api.tokenize, auth: true, body: true } },
  "/v1/detokenize": { POST: { handler: api.detokenize, auth: true, body: true } },
  "/v1/count_tokens": { POST: { handler: api.countTokens, auth: true, body: true } },
  "/v1/search": { POST: { handler: api.search, auth: true, body: true } },
};

/** The route of `method path`; 404 for an unknown path, 405 for a known one's wrong method. */
export function route(method, path) {
  const methods = Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
  if (methods === undefined) throw new ApiError(404, "not_found", "no such endpoint");
  if (!Object.hasOwn(methods, method)) {
    throw new ApiError(405, "method_not_allowed", `use ${Object.keys(methods).join(", ")}`, {
      headers: { allow: [...Object.keys(methods), "OPTIONS"].join(", ") },
    });
  }
  return methods[method];
}

export function isKnownPath(path) {
  return Object.hasOwn(ROUTES, path);
}
