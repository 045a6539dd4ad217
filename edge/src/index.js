// Gemma Edge Agent's edge worker: tokenizer and hybrid document search behind an authenticated
// JSON API (/v1/...). The request pipeline: CORS allowlist -> preflight -> route -> API key ->
// rate limit -> body (size, JSON) -> handler. Every refusal is a JSON error; nothing else
// (no stack trace) leaves the worker.
import { authenticate } from "./auth.js";
import { readJson } from "./body.js";
import { settings } from "./config.js";
import { corsHeaders, preflight } from "./cors.js";
import { ApiError, errorResponse, json } from "./http.js";
import { logError, logRequest } from "./log.js";
import { RateLimiter } from "./ratelimit.js";
import { isKnownPath, route } from "./router.js";

const limiters = new WeakMap();

function limiterFor(env, config) {
  let limiter = limiters.get(env);
  if (limiter === undefined) {
    limiter = new RateLimiter(config.ratePerMinute, config.burst);
    limiters.set(env, limiter);
  }
  return limiter;
}

async function handle(request, env, state) {
  let config;
  try {
    config = settings(env);
  } catch (err) {
    logError(state.requestId, err);
    throw new ApiError(500, "misconfigured", "the service is misconfigured");
  }
  const url = new URL(request.url);
  state.path = url.pathname;
  state.cors = corsHeaders(request, config.origins);
  if (request.method === "OPTIONS") {
    if (!isKnownPath(url.pathname)) throw new ApiError(404, "not_found", "no such endpoint");
    return preflight(state.cors);
  }
  const r = route(request.method, url.pathname);
  if (r.auth) {
    state.key = await authenticate(request, config);
    limiterFor(env, config).take(state.key);
  }
  const body = r.body ? await readJson(request, config.maxBodyBytes) : undefined;
  return json(await r.handler(body, env));
}

export default {
  async fetch(request, env) {
    const started = Date.now();
    const state = { requestId: crypto.randomUUID(), cors: {}, key: undefined, path: undefined };
    let response;
    try {
      response = await handle(request, env, state);
    } catch (err) {
      if (err instanceof ApiError) {
        response = errorResponse(err);
      } else {
        logError(state.requestId, err);
        response = errorResponse(new ApiError(500, "internal_error", "internal error"));
      }
    }
    const headers = new Headers(response.headers);
    for (const [name, value] of Object.entries(state.cors)) headers.set(name, value);
    headers.set("x-request-id", state.requestId);
    logRequest({
      request_id: state.requestId,
      method: request.method,
      path: state.path ?? "(bad url)",
      status: response.status,
      key: state.key ?? null,
      origin: request.headers.get("origin"),
      ms: Date.now() - started,
    });
    return new Response(response.body, { status: response.status, headers });
  },
};
