// The request body: at most `limit` bytes (413 past it, whether or not Content-Length says so),
// JSON only (415 otherwise), an object at the top (400 otherwise).
import { ApiError, badField } from "./http.js";

async function readLimited(request, limit) {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit);
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

function tooLarge(limit) {
  return new ApiError(413, "body_too_large", `the request body is limited to ${limit} bytes`);
}

/** The parsed JSON object of a POST body. */
export async function readJson(request, limit) {
  const type = request.headers.get("content-type") ?? "";
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new ApiError(415, "unsupported_media_type", "send the body as application/json");
  }
  const bytes = await readLimited(request, limit);
  let doc;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new ApiError(400, "malformed_json", "the request body is not valid UTF-8 JSON");
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    throw badField("body", "the request body must be a JSON object");
  }
  return doc;
}
