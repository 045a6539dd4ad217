// JSON responses and the one error type the pipeline throws: a status, a machine-readable code,
// the offending field (for 400s) and a message safe to show (never a stack trace).

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status
   * @param {string} code machine-readable error code
   * @param {string} message what is wrong, for the caller
   * @param {{field?: string, headers?: Record<string, string>}} [extra]
   */
  constructor(status, code, message, extra = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = extra.field;
    this.headers = extra.headers ?? {};
  }
}

export const badField = (field, message) =>
  new ApiError(400, "invalid_field", message, { field });

/** A JSON response; `headers` are added to the content type and the no-store cache policy. */
export function json(body, status = 200, headers = {}) {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      ...headers,
    },
  });
}

/** The error body: {"error": {"code", "message", "field"?}}. */
export function errorResponse(err) {
  const error = { code: err.code, message: err.message };
  if (err.field !== undefined) error.field = err.field;
  return json({ error }, err.status, err.headers);
}
