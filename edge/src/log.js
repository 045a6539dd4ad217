// Structured request logs: one JSON object per line, never a key, a body or a header value
// beyond the origin; the caller is named by its key id (a prefix of the key's SHA-256).

export function logRequest(fields) {
  console.log(JSON.stringify({ level: fields.status >= 500 ? "error" : "info", msg: "request", ...fields }));
}

/** Logs an unexpected error by its name and message only; the response says nothing of it. */
export function logError(requestId, err) {
  const name = err instanceof Error ? err.name : typeof err;
  const message = err instanceof Error ? err.message : String(err);
  console.error(JSON.stringify({ level: "error", msg: "unhandled", request_id: requestId, error: `${name}: ${message}` }));
}
