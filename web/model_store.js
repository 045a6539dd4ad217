// Model and index files, read only through their manifest.json (size + sha256 per file): downloaded
// with progress, verified, kept in the Cache API, and never used when they do not match.
// Works in a worker or a page (Cache API, fetch and WebCrypto only).

export const MODEL_CACHE = "gea-models-v1";
const RETRIES = 3;

export class StoreError extends Error {
  constructor(message, kind) {
    super(message);
    this.name = "StoreError";
    this.kind = kind; // "integrity" | "network" | "quota" | "manifest"
  }
}

async function sha256Hex(bytes) {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** manifest.json of a folder URL ("/models/gemma-3-270m/"): network first, the cached copy offline. */
export async function loadManifest(folderUrl) {
  const url = new URL("manifest.json", new URL(folderUrl, self.location.href)).href;
  const cache = await caches.open(MODEL_CACHE);
  let response;
  try {
    response = await fetch(url, { cache: "no-cache" });
    if (!response.ok) throw new StoreError(`${url}: HTTP ${response.status}`, "manifest");
    await cache.put(url, response.clone());
  } catch (err) {
    response = await cache.match(url);
    if (!response) {
      throw new StoreError(`cannot load ${url} (${err.message}) and no copy is stored`, "manifest");
    }
  }
  let doc;
  try {
    doc = await response.json();
  } catch {
    throw new StoreError(`${url} is not valid JSON`, "manifest");
  }
  if (!Array.isArray(doc.files)) throw new StoreError(`${url} lists no files`, "manifest");
  const files = new Map(doc.files.map((f) => [f.path, f]));
  return { url, folder: new URL(".", url).href, doc, files };
}

/** Bytes still needed to store `paths` (those not cached with the manifest's digest). */
export async function missingBytes(manifest, paths) {
  const cache = await caches.open(MODEL_CACHE);
  let total = 0;
  for (const path of paths) {
    const entry = entryOf(manifest, path);
    const hit = await cache.match(new URL(path, manifest.folder).href);
    if (!hit || hit.headers.get("x-gea-sha256") !== entry.sha256) total += entry.size;
  }
  return total;
}

function entryOf(manifest, path) {
  const entry = manifest.files.get(path);
  if (!entry) throw new StoreError(`${manifest.url} does not list ${path}`, "manifest");
  return entry;
}

/** Storage left for the origin, in bytes (null when the browser does not say). */
export async function storageLeft() {
  if (!navigator.storage?.estimate) return null;
  const { quota, usage } = await navigator.storage.estimate();
  return quota === undefined ? null : quota - (usage ?? 0);
}

async function download(url, size, onBytes) {
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok) throw new StoreError(`${url}: HTTP ${response.status}`, "network");
  const out = new Uint8Array(size);
  let offset = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (offset + value.length > size) {
      await reader.cancel();
      throw new StoreError(`${url} is larger than its manifest says (${size} bytes)`, "integrity");
    }
    out.set(value, offset);
    offset += value.length;
    onBytes(value.length);
  }
  if (offset !== size) {
    // The server sent a whole file of another size: a different file, not a broken transfer.
    if (Number(response.headers.get("content-length")) === offset) {
      throw new StoreError(
        `${url.split("/").pop()} failed verification: it is ${offset} bytes, the manifest says ` +
          `${size} — the file was changed or corrupted; not used`,
        "integrity",
      );
    }
    throw new StoreError(`${url} ended after ${offset} of ${size} bytes`, "network");
  }
  return out;
}

/**
 * The verified bytes of `path` in the manifest's folder: from the cache when stored with the
 * manifest's digest, else downloaded (retried on network errors), checked, then stored.
 * `onProgress({ path, loaded, total })` follows the bytes; a mismatch throws ("integrity").
 */
export async function fetchVerified(manifest, path, onProgress = () => {}) {
  const entry = entryOf(manifest, path);
  const url = new URL(path, manifest.folder).href;
  const cache = await caches.open(MODEL_CACHE);
  const hit = await cache.match(url);
  if (hit && hit.headers.get("x-gea-sha256") === entry.sha256) {
    const bytes = new Uint8Array(await hit.arrayBuffer());
    if (bytes.length === entry.size) {
      onProgress({ path, loaded: entry.size, total: entry.size, cached: true });
      return bytes;
    }
  }
  let lastError;
  for (let attempt = 1; attempt <= RETRIES; attempt++) {
    let loaded = 0;
    try {
      const bytes = await download(url, entry.size, (n) => {
        loaded += n;
        onProgress({ path, loaded, total: entry.size, cached: false });
      });
      const digest = await sha256Hex(bytes);
      if (digest !== entry.sha256) {
        throw new StoreError(
          `${path} failed verification: its sha256 is ${digest.slice(0, 12)}…, the manifest ` +
            `says ${entry.sha256.slice(0, 12)}… — the file was changed or corrupted; not used`,
          "integrity",
        );
      }
      try {
        await store(cache, url, bytes, entry);
      } catch (err) {
        onProgress({ path, loaded, total: entry.size, cached: false, warning: err.message });
      }
      return bytes;
    } catch (err) {
      if (err instanceof StoreError && err.kind === "integrity") throw err;
      lastError = err;
      await new Promise((r) => setTimeout(r, 250 * attempt));
    }
  }
  throw new StoreError(`could not download ${path}: ${lastError?.message ?? lastError}`, "network");
}

async function store(cache, url, bytes, entry) {
  const headers = {
    "content-type": "application/octet-stream",
    "content-length": String(bytes.length),
    "x-gea-sha256": entry.sha256,
  };
  try {
    await cache.put(url, new Response(bytes, { headers }));
  } catch (err) {
    // Usable now, but it will be downloaded again next time: the caller says so, does not fail.
    const name = url.split("/").pop();
    const why = err?.name === "QuotaExceededError" ? "not enough storage" : err?.message ?? err;
    throw new StoreError(
      `${name} (${(entry.size / 1e6).toFixed(0)} MB) could not be kept for offline use: ${why}. ` +
        "It works now but will be downloaded again next time.",
      "quota",
    );
  }
}

/** Removes every stored model and index file (the settings' "clear all local data"). */
export async function clearModels() {
  return caches.delete(MODEL_CACHE);
}
